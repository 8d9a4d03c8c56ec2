import type { Logger } from 'pino';
import type { OutcomeCode } from '../entitlement/outcomes.js';
import type { Observer, Snapshot } from '../entitlement/status.js';
import { classify, KubernetesCallError, type KubernetesOperation, type PodRef, type PodStatusApi } from './api.js';
import type { KubernetesMetrics, Recorder } from './metrics.js';
import { CONDITION_TYPE, conditionFor, eventsFor, isRetrying, MESSAGE_LIMIT_BYTES, REASONS, truncateBytes, type PodCondition, type PodEvent } from './reasons.js';

/**
 * Turns entitlement snapshots into Kubernetes API calls without ever making the entitlement wait for
 * them: the observer only records what should be sent and returns; the calls run later, on their own.
 *
 * - Events are fire-and-forget, concurrent (kubectl sorts them by time), never retried: a lost Event
 *   costs a line in `kubectl describe`, nothing more.
 * - The condition is single-flight and coalesced to the latest desired state, so patches cannot arrive
 *   out of order, and a failed patch is retried with backoff until it lands or a newer state replaces
 *   it: a readiness gate on a condition that never turned True would keep an entitled pod out of its
 *   Service for good.
 */

export const RETRY_EVENT_INTERVAL_MS = 60_000;
export const DEFAULT_CONDITION_RETRY = { initialMs: 1_000, maxMs: 60_000 } as const;

export interface ReporterOptions {
  readonly api: PodStatusApi;
  readonly pod: PodRef;
  readonly logger: Logger;
  readonly metrics: Recorder<KubernetesMetrics>;
  readonly now: () => Date;
  readonly conditionRetry?: { readonly initialMs: number; readonly maxMs: number };
}

export interface Reporter {
  readonly observe: Observer;
  readonly observeAt: (snapshot: Snapshot, at: Date) => void;
  /** An Event that is not an entitlement outcome (usage metering's troubles). */
  readonly event: (event: PodEvent, at: Date) => void;
  /**
   * Waits for every call in flight and runs a scheduled condition retry at once instead of waiting for
   * its timer. A call that fails while flushing is not rescheduled, so with the API server gone flush
   * settles within two request timeouts (the patch in flight, then the latest state queued behind it);
   * later snapshots schedule retries again.
   */
  flush(): Promise<void>;
}

interface Desired {
  readonly condition: PodCondition;
  readonly code: OutcomeCode;
  /** Changes only when the status flips, as Kubernetes defines lastTransitionTime. */
  readonly since: Date;
}

export function createReporter(o: ReporterOptions): Reporter {
  const { api, logger, metrics, now } = o;
  const retry = o.conditionRetry ?? DEFAULT_CONDITION_RETRY;
  const pending = new Set<Promise<void>>();
  const lastRetryEventAt = new Map<string, number>();
  const loggedFailures = new Set<string>();
  let observerFailureLogged = false;

  let desired: Desired | undefined;
  let acknowledged: Desired | undefined;
  let inFlight = false;
  let retryTimer: NodeJS.Timeout | undefined;
  let retryDelayMs = retry.initialMs;
  let draining = 0;

  const track = (p: Promise<void>) => {
    pending.add(p);
    void p.then(() => pending.delete(p));
  };

  /** Starts the call on a later microtask, so nothing of it (not even reading the token file) runs inside the observer. */
  const call = (operation: KubernetesOperation, run: () => Promise<void>): Promise<boolean> => {
    metrics.record((m) => m.requests.inc({ operation }));
    return Promise.resolve()
      .then(run)
      .then(
        () => true,
        (err: unknown) => {
          failed(operation, err instanceof KubernetesCallError ? err : classify(err));
          return false;
        },
      );
  };

  const failed = (operation: KubernetesOperation, err: KubernetesCallError) => {
    metrics.record((m) => m.errors.inc({ operation, reason: err.kind }));
    // Once per kind of failure, not per call: a missing RBAC rule would otherwise log on every retry.
    // "other" is split by HTTP status so a 404 (wrong POD_NAME) still shows after a 500.
    const key = `${operation}/${err.kind}/${err.kind === 'other' ? (err.httpStatus ?? err.errno ?? '') : ''}`;
    const fields = { operation, reason: err.kind, httpStatus: err.httpStatus, errno: err.errno, server: api.server, error: err.message };
    if (loggedFailures.has(key)) {
      logger.debug(fields, 'Kubernetes API call failed again');
      return;
    }
    loggedFailures.add(key);
    logger.warn(fields, `${explain(operation, err, o.pod)} The entitlement does not depend on it; this is logged once per kind of failure and counted in marketplace_entitlement_kubernetes_api_errors_total.`);
  };

  const pump = (): void => {
    if (inFlight || desired === undefined || desired === acknowledged) return;
    if (retryTimer !== undefined) {
      clearTimeout(retryTimer);
      retryTimer = undefined;
    }
    const target = desired;
    inFlight = true;
    track(
      call('condition', () => api.patchCondition(target.condition, target.since)).then((ok) => {
        inFlight = false;
        if (ok) {
          acknowledged = target;
          retryDelayMs = retry.initialMs;
        }
        // A newer state that arrived while this patch was in flight goes out now, failed or not.
        if (ok || desired !== target) pump();
        else if (draining === 0) scheduleRetry();
      }),
    );
  };

  const scheduleRetry = () => {
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      pump();
    }, retryDelayMs);
    // A retry must never hold a stopping sidecar open.
    retryTimer.unref();
    retryDelayMs = Math.min(retryDelayMs * 2, retry.maxMs);
  };

  const setCondition = (snapshot: Snapshot, at: Date) => {
    const condition = conditionFor(snapshot);
    // A retrying registration makes a snapshot per attempt; the condition changes only with the outcome code.
    if (desired !== undefined && desired.code === snapshot.code && desired.condition.status === condition.status) return;
    const since = desired !== undefined && desired.condition.status === condition.status ? desired.since : at;
    desired = { condition, code: snapshot.code, since };
    pump();
  };

  const sendEvent = (event: PodEvent, at: Date) => {
    track(call('event', () => api.createEvent(event, at)).then(() => undefined));
  };

  /** Handles an outcome as of `at`, the time it happened (outcomes replayed after the client loads keep theirs). */
  const observeAt = (snapshot: Snapshot, at: Date) => {
    try {
      for (const event of eventsFor(snapshot)) {
        if (event.reason === REASONS[snapshot.code] && isRetrying(snapshot.code) && !retryEventDue(event.reason, at)) continue;
        sendEvent(event, at);
      }
      setCondition(snapshot, at);
    } catch (err) {
      // The observer runs inside EntitlementState.set(): a bug here must not break the entitlement.
      if (!observerFailureLogged) logger.error({ err }, 'Kubernetes status: could not handle a status change; the entitlement is not affected');
      observerFailureLogged = true;
    }
  };

  const observe: Observer = (snapshot: Snapshot) => observeAt(snapshot, now());

  /** At most one event per retry reason per minute: a throttled sidecar can make an attempt every few hundred ms. */
  const retryEventDue = (reason: string, at: Date): boolean => {
    const last = lastRetryEventAt.get(reason);
    if (last !== undefined && at.getTime() - last < RETRY_EVENT_INTERVAL_MS) return false;
    lastRetryEventAt.set(reason, at.getTime());
    return true;
  };

  return {
    observe,
    observeAt,
    event: (event: PodEvent, at: Date) => sendEvent({ ...event, message: truncateBytes(event.message, MESSAGE_LIMIT_BYTES) }, at),
    async flush() {
      draining++;
      try {
        for (;;) {
          if (retryTimer !== undefined) {
            clearTimeout(retryTimer);
            retryTimer = undefined;
            pump();
          }
          if (pending.size === 0) return;
          await Promise.allSettled([...pending]);
        }
      } finally {
        draining--;
      }
    },
  };
}

function explain(operation: KubernetesOperation, err: KubernetesCallError, pod: PodRef): string {
  const what = operation === 'event' ? 'create an Event on' : `set the condition ${CONDITION_TYPE} on`;
  switch (err.kind) {
    case 'forbidden':
      return operation === 'event'
        ? `The Kubernetes API refused to ${what} pod ${pod.namespace}/${pod.name} (403): grant the pod's service account "create" on "events" in namespace ${pod.namespace} (the chart's RBAC value).`
        : `The Kubernetes API refused to ${what} pod ${pod.namespace}/${pod.name} (403): grant the pod's service account "patch" on "pods/status" in namespace ${pod.namespace} (the chart's RBAC value); until then a readiness gate on ${CONDITION_TYPE} keeps the pod unready.`;
    case 'unreachable':
      return `Could not reach the Kubernetes API to ${what} pod ${pod.namespace}/${pod.name}; check network policies towards the API server.`;
    case 'timeout':
      return `The Kubernetes API did not answer in time to ${what} pod ${pod.namespace}/${pod.name}.`;
    case 'other':
      return err.httpStatus === undefined
        ? `Could not call the Kubernetes API to ${what} pod ${pod.namespace}/${pod.name}; check the service account's ca.crt and token, and the error.`
        : `The Kubernetes API answered HTTP ${err.httpStatus} to ${what} pod ${pod.namespace}/${pod.name}; check POD_NAME and POD_NAMESPACE (downward API) and the error.`;
  }
}
