import { Counter, type Registry } from 'prom-client';
import { METRIC_PREFIX } from '../shared/metric-names.js';
import { FAILURE_KINDS, OPERATIONS } from './constants.js';

export interface KubernetesMetrics {
  readonly requests: Counter<'operation'>;
  readonly errors: Counter<'operation' | 'reason'>;
}

/**
 * Registered whether or not the feature is on, so `/metrics` has the same series in every environment.
 * Every label combination starts at 0: an alert on `increase(...errors_total[5m]) > 0` then works from
 * the first failure instead of the second.
 */
/** Records into metrics that may not exist yet (the sidecar loads prom-client after its first outcome). */
export interface Recorder<T> {
  record(fn: (metrics: T) => void): void;
}

/** A recorder on metrics created now on `registry`. */
export function kubernetesMetricsOn(registry: Registry): Recorder<KubernetesMetrics> {
  const metrics = createKubernetesMetrics(registry);
  return { record: (fn) => fn(metrics) };
}

export function createKubernetesMetrics(registry: Registry): KubernetesMetrics {
  const requests = new Counter({
    name: `${METRIC_PREFIX}kubernetes_api_requests_total`,
    help: 'Kubernetes API calls made for pod status, by operation (event, condition).',
    labelNames: ['operation'] as const,
    registers: [registry],
  });
  const errors = new Counter({
    name: `${METRIC_PREFIX}kubernetes_api_errors_total`,
    help: 'Kubernetes API calls for pod status that failed, by operation and reason (forbidden, unreachable, timeout, other). They never affect the entitlement.',
    labelNames: ['operation', 'reason'] as const,
    registers: [registry],
  });
  for (const operation of OPERATIONS) {
    requests.inc({ operation }, 0);
    for (const reason of FAILURE_KINDS) errors.inc({ operation, reason }, 0);
  }
  return { requests, errors };
}
