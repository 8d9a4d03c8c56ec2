/**
 * What the lightweight parts of the Kubernetes status code (the on/off decision, the metrics) share
 * with api.ts, kept apart from it: importing api.ts loads @kubernetes/client-node, which must happen
 * only when the sidecar really runs in a cluster.
 */

/** Where a pod's service-account token, CA and namespace are mounted. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export const OPERATIONS = ['event', 'condition'] as const;
/** The two calls the sidecar makes to the Kubernetes API. */
export type KubernetesOperation = (typeof OPERATIONS)[number];

export const FAILURE_KINDS = ['forbidden', 'unreachable', 'timeout', 'other'] as const;
export type FailureKind = (typeof FAILURE_KINDS)[number];
