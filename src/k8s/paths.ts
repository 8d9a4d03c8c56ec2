/** Where a pod's service-account token, CA and namespace are mounted; kept apart from api.ts so reading it loads no client. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
