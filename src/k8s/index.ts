import { accessSync, constants } from 'node:fs';
import type { Logger } from 'pino';
import type { Observer, Snapshot } from '../entitlement/status.js';
import type { PodRef } from './api.js';
import { SERVICE_ACCOUNT_DIR } from './constants.js';
import type { KubernetesMetrics, Recorder } from './metrics.js';
import { CONDITION_TYPE, type PodEvent } from './reasons.js';

/**
 * Kubernetes-native status: an Event on the sidecar's own pod for each outcome and the pod condition
 * `marketplace.aws/entitled` for `readinessGates`. Purely a reporter: the entitlement is decided, written
 * and served before and regardless of anything the Kubernetes API does.
 */

import { KUBERNETES_STATUS_MODES } from '../config/settings.js';

// The setting ENTITLEMENT_KUBERNETES_STATUS (config.ts), default 'auto'.
export { KUBERNETES_STATUS_MODES };

export { CONDITION_TYPE, REASONS, KEY_ROTATION_REASON } from './reasons.js';

export interface KubernetesStatusOptions {
  mode: (typeof KUBERNETES_STATUS_MODES)[number];
  /** POD_NAME, POD_NAMESPACE (downward API), POD_UID (optional), KUBERNETES_SERVICE_HOST/PORT. */
  env: NodeJS.ProcessEnv;
  logger: Logger;
  /** The Kubernetes API metrics, on the sidecar's own registry (never prom-client's global one): `kubernetesMetricsOn(registry)`. */
  metrics: Recorder<KubernetesMetrics>;
  /** Test hook: prepended to /var/run/secrets/kubernetes.io/serviceaccount, as `loadFromCluster(prefix)` does. */
  serviceAccountPrefix?: string;
  now?: () => Date;
  /** Per API call; default 5000. */
  requestTimeoutMs?: number;
}

export interface KubernetesStatus {
  readonly enabled: boolean;
  /** For runSidecar's `observers`: synchronous, never throws, never waits for the API. */
  readonly observer: Observer;
  /**
   * Resolves when every queued API call has finished (tests, shutdown). A condition retry waiting on its
   * backoff is sent at once rather than awaited; with the API server gone this takes at most two request
   * timeouts, so give it a budget at shutdown.
   */
  flush(): Promise<void>;
  /** Records an Event on the pod that is not an entitlement outcome (usage metering); never throws or waits. */
  event(event: PodEvent): void;
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 5_000;

export function startKubernetesStatus(o: KubernetesStatusOptions): KubernetesStatus {
  const logger = o.logger.child({ module: 'k8s' });
  // Registered even when off (by whoever made the recorder), so /metrics has the same series wherever the sidecar runs.
  const metrics = o.metrics;
  const prefix = o.serviceAccountPrefix ?? '';
  const decision = whetherToReport(o.mode, o.env, prefix);
  if (!decision.enabled) {
    logger.info({ kubernetesStatus: 'off', why: decision.why }, `Kubernetes status is off: ${decision.why}; no pod Events and no ${CONDITION_TYPE} condition`);
    return disabled;
  }
  const pod = decision.pod;
  const timeoutMs = o.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  // @kubernetes/client-node is large: loading it at start would slow every registration, in a cluster
  // or not. It is loaded on the first outcome instead, and the outcomes seen meanwhile are replayed.
  const now = o.now ?? (() => new Date());
  const pending: Array<{ snapshot: Snapshot; at: Date } | { event: PodEvent; at: Date }> = [];
  let reporter:
    | { observe: Observer; observeAt(snapshot: Snapshot, at: Date): void; event(event: PodEvent, at: Date): void; flush(): Promise<void> }
    | undefined;
  let loading: Promise<void> | undefined;
  let failed = false;
  const giveUp = (err: unknown, why: string) => {
    failed = true;
    pending.length = 0;
    logger.warn({ kubernetesStatus: 'off', err }, `Kubernetes status is off: ${why}; no pod Events and no ${CONDITION_TYPE} condition`);
  };
  const load = () =>
    (loading ??= (async () => {
      const [{ createPodStatusApi, inClusterConfig }, { createReporter }] = await Promise.all([import('./api.js'), import('./reporter.js')]);
      let api;
      try {
        const { kc, server } = inClusterConfig(o.env, prefix);
        api = createPodStatusApi({ kc, server, pod, timeoutMs });
      } catch (err) {
        // A client that cannot even be configured is one more reason to carry on without it.
        giveUp(err, 'the in-cluster client could not be configured');
        return;
      }
      logger.info({ kubernetesStatus: 'on', server: api.server }, `Kubernetes client loaded; reporting to ${api.server}`);
      const r = createReporter({ api, pod, logger, metrics, now });
      // Outcomes seen while the client loaded keep the time they happened.
      for (const item of pending.splice(0)) {
        if ('snapshot' in item) r.observeAt(item.snapshot, item.at);
        else r.event(item.event, item.at);
      }
      reporter = r;
    })().catch((err: unknown) => giveUp(err, 'the Kubernetes client could not be loaded')));
  logger.info(
    { kubernetesStatus: 'on', pod: `${pod.namespace}/${pod.name}`, podUid: pod.uid, requestTimeoutMs: timeoutMs },
    `Kubernetes status is on: Events and the condition ${CONDITION_TYPE} on pod ${pod.namespace}/${pod.name}, from the first outcome`,
  );
  const observer: Observer = (snapshot, previous) => {
    if (reporter !== undefined) {
      reporter.observe(snapshot, previous);
      return;
    }
    if (failed) return;
    pending.push({ snapshot, at: now() });
    void load();
  };
  const event = (e: PodEvent) => {
    if (reporter !== undefined) {
      reporter.event(e, now());
      return;
    }
    if (failed) return;
    pending.push({ event: e, at: now() });
    void load();
  };
  return {
    enabled: true,
    observer,
    event,
    flush: async () => {
      if (loading !== undefined) await loading;
      await reporter?.flush();
    },
  };
}

const disabled: KubernetesStatus = Object.freeze({ enabled: false, observer: () => undefined, flush: async () => undefined, event: () => undefined });

type ReportDecision = { enabled: true; pod: PodRef } | { enabled: false; why: string };

function whetherToReport(mode: KubernetesStatusOptions['mode'], env: NodeJS.ProcessEnv, prefix: string): ReportDecision {
  if (mode === 'off') return { enabled: false, why: 'turned off by ENTITLEMENT_KUBERNETES_STATUS=off' };
  if (!env.KUBERNETES_SERVICE_HOST) return { enabled: false, why: 'not running in a Kubernetes cluster (KUBERNETES_SERVICE_HOST is not set)' };
  const token = `${prefix}${SERVICE_ACCOUNT_DIR}/token`;
  try {
    accessSync(token, constants.R_OK);
  } catch {
    return {
      enabled: false,
      why: `not running in a Kubernetes cluster with a service-account token (${token} is not readable; is automountServiceAccountToken false?)`,
    };
  }
  const missing = (['POD_NAME', 'POD_NAMESPACE'] as const).filter((name) => !env[name]);
  if (missing.length > 0) {
    return {
      enabled: false,
      why:
        `${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not set: set POD_NAME and POD_NAMESPACE from the downward API ` +
        '(env valueFrom.fieldRef.fieldPath metadata.name and metadata.namespace; POD_UID from metadata.uid is optional)',
    };
  }
  const pod: PodRef = { name: env.POD_NAME as string, namespace: env.POD_NAMESPACE as string, ...(env.POD_UID ? { uid: env.POD_UID } : {}) };
  return { enabled: true, pod };
}
