import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { STATUSES, type Status } from '../entitlement/outcomes.js';
import { createKubernetesMetrics, type KubernetesMetrics } from '../k8s/metrics.js';
import { METRIC_PREFIX } from '../shared/metric-names.js';

/**
 * The sidecar's metrics, on a registry of its own (never prom-client's global one). Labels are low
 * cardinality by construction: outcome codes and statuses, never a customer or account identifier.
 * The README's metrics table is checked against the registry by a test.
 */
export interface SidecarMetrics {
  readonly registry: Registry;
  readonly entitled: Gauge;
  readonly status: Gauge<'status'>;
  readonly registerAttempts: Counter<'outcome'>;
  readonly registerDuration: Histogram;
  readonly verifiedTimestamp: Gauge;
  readonly keyRotationTimestamp: Gauge;
  readonly buildInfo: Gauge<'version' | 'node_version'>;
  /** License Manager calls by operation (checkout, extend, get, checkin) and outcome code. */
  readonly licenseCalls: Counter<'operation' | 'outcome'>;
  /** 1 while the last good license is in force without a fresh check (the grace period). */
  readonly licenseStale: Gauge;
  readonly licenseChecked: Gauge;
  /** The Kubernetes API calls for pod status (registered whether or not the feature is on). */
  readonly kubernetes: KubernetesMetrics;
  setStatus(status: Status): void;
}

export { METRIC_PREFIX };

export function createMetrics(version: string): SidecarMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const p = METRIC_PREFIX;
  const entitled = new Gauge({ name: `${p}entitled`, help: '1 when a verified entitlement exists, else 0.', registers: [registry] });
  const status = new Gauge({
    name: `${p}status`,
    help: 'The current entitlement status: 1 for the current one, 0 for the others.',
    labelNames: ['status'] as const,
    registers: [registry],
  });
  const registerAttempts = new Counter({
    name: `${p}register_attempts_total`,
    help: 'RegisterUsage attempts by outcome code (ENTITLED, THROTTLED, CUSTOMER_NOT_ENTITLED, ...).',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const registerDuration = new Histogram({
    name: `${p}register_duration_seconds`,
    help: 'Duration of each RegisterUsage attempt, answered or not.',
    buckets: [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const verifiedTimestamp = new Gauge({
    name: `${p}verified_timestamp_seconds`,
    help: 'Unix time at which the entitlement token was verified; 0 until then.',
    registers: [registry],
  });
  const keyRotationTimestamp = new Gauge({
    name: `${p}key_rotation_timestamp_seconds`,
    help: 'PublicKeyRotationTimestamp from AWS as Unix time: the seller must ship a new public key version. 0 when AWS sent none.',
    registers: [registry],
  });
  const buildInfo = new Gauge({
    name: `${p}build_info`,
    help: 'Always 1; labels carry the sidecar and Node.js versions.',
    labelNames: ['version', 'node_version'] as const,
    registers: [registry],
  });
  const licenseCalls = new Counter({
    name: `${p}license_calls_total`,
    help: 'License Manager calls by operation (checkout, extend, get, checkin) and outcome code (contract products).',
    labelNames: ['operation', 'outcome'] as const,
    registers: [registry],
  });
  const licenseStale = new Gauge({
    name: `${p}license_stale`,
    help: '1 while License Manager cannot be reached and the last good license stays in force (ENTITLEMENT_LICENSE_GRACE), else 0.',
    registers: [registry],
  });
  const licenseChecked = new Gauge({
    name: `${p}license_checked_timestamp_seconds`,
    help: 'Unix time License Manager last confirmed the license; 0 until then.',
    registers: [registry],
  });
  licenseStale.set(0);
  licenseChecked.set(0);
  buildInfo.set({ version, node_version: process.version }, 1);
  entitled.set(0);
  verifiedTimestamp.set(0);
  keyRotationTimestamp.set(0);
  const setStatus = (current: Status) => {
    for (const s of STATUSES) status.set({ status: s }, s === current ? 1 : 0);
    entitled.set(current === 'entitled' ? 1 : 0);
  };
  setStatus('pending');
  const kubernetes = createKubernetesMetrics(registry);
  return {
    kubernetes,
    registry,
    entitled,
    status,
    registerAttempts,
    registerDuration,
    verifiedTimestamp,
    keyRotationTimestamp,
    buildInfo,
    licenseCalls,
    licenseStale,
    licenseChecked,
    setStatus,
  };
}
