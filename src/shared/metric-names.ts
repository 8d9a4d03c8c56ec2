/** The one prefix of every metric of the sidecar (its own, usage metering's, the Kubernetes reporter's). */
export const METRIC_PREFIX = 'marketplace_entitlement_';
