import { randomBytes } from 'node:crypto';
import { isIPv6 } from 'node:net';
import {
  ApiException,
  CoreV1Api,
  KubeConfig,
  Observable,
  PatchStrategy,
  setHeaderOptions,
  type ConfigurationOptions,
  type CoreV1Event,
  type ObservableMiddleware,
  type RequestContext,
  type ResponseContext,
} from '@kubernetes/client-node';
import { errnoOf, isNetworkErrno } from '../shared/errno.js';
import { CONDITION_TYPE, type PodCondition, type PodEvent } from './reasons.js';
import { FAILURE_KINDS, OPERATIONS, SERVICE_ACCOUNT_DIR, type FailureKind, type KubernetesOperation } from './constants.js';

/**
 * The two Kubernetes API calls the sidecar makes, through the real @kubernetes/client-node, each bounded
 * by a timeout and failing with one of four low-cardinality kinds. Nothing here retries or logs: the
 * reporter decides what a failure means.
 */

export const COMPONENT = 'marketplace-entitlement-sidecar';



export class KubernetesCallError extends Error {
  override readonly name = 'KubernetesCallError';
  readonly kind: FailureKind;
  /** The HTTP status when the API server answered; the errno when it could not be reached. */
  readonly httpStatus: number | undefined;
  readonly errno: string | undefined;

  constructor(kind: FailureKind, message: string, details: { cause?: unknown; httpStatus?: number; errno?: string } = {}) {
    super(message, { cause: details.cause });
    this.kind = kind;
    this.httpStatus = details.httpStatus;
    this.errno = details.errno;
  }
}

export interface PodRef {
  readonly name: string;
  readonly namespace: string;
  readonly uid?: string;
}

export interface PodStatusApi {
  /** The API server's URL, for log lines. */
  readonly server: string;
  createEvent(event: PodEvent, at: Date): Promise<void>;
  patchCondition(condition: PodCondition, lastTransitionTime: Date): Promise<void>;
}

export { FAILURE_KINDS, OPERATIONS, SERVICE_ACCOUNT_DIR, type FailureKind, type KubernetesOperation };

/**
 * The in-cluster configuration, with the API server's address taken from `env`. `loadFromCluster` gives
 * the library's own CA and token-file handling (it re-reads the token every minute, which the kubelet's
 * rotating service-account tokens need), but it reads the address from `process.env`; the address is
 * replaced so that the environment the caller passed is the one that counts, as everywhere else here.
 */
export function inClusterConfig(env: NodeJS.ProcessEnv, serviceAccountPrefix: string): { kc: KubeConfig; server: string } {
  const kc = new KubeConfig();
  kc.loadFromCluster(serviceAccountPrefix);
  const cluster = kc.getCurrentCluster();
  const user = kc.getCurrentUser();
  if (cluster === null || user === null) throw new Error('@kubernetes/client-node loaded no in-cluster context');
  const host = env.KUBERNETES_SERVICE_HOST ?? '';
  // The in-cluster API server always speaks TLS; the kubelet sets the port next to the host.
  const server = `https://${isIPv6(host) ? `[${host}]` : host}:${env.KUBERNETES_SERVICE_PORT || '443'}`;
  kc.loadFromClusterAndUser({ ...cluster, server }, user);
  return { kc, server };
}

export function createPodStatusApi(o: { kc: KubeConfig; server: string; pod: PodRef; timeoutMs: number }): PodStatusApi {
  const core = o.kc.makeApiClient(CoreV1Api);
  const { pod, timeoutMs } = o;
  return {
    server: o.server,
    async createEvent(event, at) {
      const body: CoreV1Event = {
        apiVersion: 'v1',
        kind: 'Event',
        // A fresh name per event, as client-go's recorder does: no read-modify-write, so no `get` permission.
        metadata: { name: eventName(pod.name, at), namespace: pod.namespace },
        involvedObject: { apiVersion: 'v1', kind: 'Pod', name: pod.name, namespace: pod.namespace, ...(pod.uid ? { uid: pod.uid } : {}) },
        reason: event.reason,
        message: event.message,
        type: event.type,
        count: 1,
        firstTimestamp: wholeSeconds(at),
        lastTimestamp: wholeSeconds(at),
        source: { component: COMPONENT },
        reportingComponent: COMPONENT,
        reportingInstance: pod.name.slice(0, 128),
      };
      await bounded(timeoutMs, 'event', (options) => core.createNamespacedEvent({ namespace: pod.namespace, body }, options));
    },
    async patchCondition(condition, lastTransitionTime) {
      // Strategic merge: `status.conditions` merges by `type`, so the kubelet's own conditions are kept.
      const body = {
        status: {
          conditions: [
            {
              type: CONDITION_TYPE,
              status: condition.status,
              reason: condition.reason,
              message: condition.message,
              lastTransitionTime: wholeSeconds(lastTransitionTime).toISOString().replace('.000Z', 'Z'),
            },
          ],
        },
      };
      await bounded(timeoutMs, 'condition', (options) =>
        core.patchNamespacedPodStatus(
          { name: pod.name, namespace: pod.namespace, body },
          setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch, options),
        ),
      );
    },
  };
}

/** `<pod>.<hex>`, within the 253 characters of a DNS subdomain name. */
function eventName(podName: string, at: Date): string {
  const suffix = `${at.getTime().toString(16)}${randomBytes(4).toString('hex')}`;
  return `${podName.slice(0, 253 - 1 - suffix.length)}.${suffix}`;
}

/** Kubernetes keeps `metav1.Time` to the second. */
function wholeSeconds(at: Date): Date {
  return new Date(Math.floor(at.getTime() / 1000) * 1000);
}

/**
 * Runs one call with an AbortSignal on its request and a timer racing it. The signal makes node-fetch
 * destroy the socket of an API server that accepted the connection and went silent; the race makes sure
 * the promise settles even if something before the fetch (reading the token or CA file) were to hang. The
 * timer is unref'd so it never keeps a stopping process alive on its own.
 */
async function bounded<T>(timeoutMs: number, operation: string, call: (options: ConfigurationOptions) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const timeout = () => new KubernetesCallError('timeout', `the Kubernetes API did not answer the ${operation} call within ${timeoutMs} ms`);
  let timedOut = false;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
      reject(timeout());
    }, timeoutMs);
    timer.unref();
  });
  try {
    const request = call({ middleware: [abortOn(controller.signal)], middlewareMergeStrategy: 'append' });
    // Once the timer has won, the aborted request's rejection is of no interest.
    request.catch(() => undefined);
    return await Promise.race([request, expired]);
  } catch (err) {
    // Whichever rejection wins the race, an aborted request is a timeout, not an "other" AbortError.
    if (timedOut) throw timeout();
    throw err instanceof KubernetesCallError ? err : classify(err);
  } finally {
    clearTimeout(timer);
  }
}

function abortOn(signal: AbortSignal): ObservableMiddleware {
  return {
    pre: (ctx: RequestContext) => {
      ctx.setSignal(signal);
      return new Observable(Promise.resolve(ctx));
    },
    post: (res: ResponseContext) => new Observable(Promise.resolve(res)),
  };
}

export function classify(err: unknown): KubernetesCallError {
  if (err instanceof ApiException) {
    const status = Number(err.code);
    const detail = statusMessage(err.body);
    const kind: FailureKind = status === 403 ? 'forbidden' : 'other';
    return new KubernetesCallError(kind, `HTTP ${status}${detail === undefined ? '' : `: ${detail}`}`, { cause: err, httpStatus: status });
  }
  const errno = errnoOf(err);
  const text = err instanceof Error ? err.message : String(err);
  if (isNetworkErrno(errno)) return new KubernetesCallError('unreachable', text, { cause: err, errno });
  // TLS failures (wrong CA, wrong name), an unreadable token file, a garbled answer: all "other".
  return new KubernetesCallError('other', text, { cause: err, ...(errno === undefined ? {} : { errno }) });
}


/** The `message` of a Kubernetes `Status` body, which says which verb on which resource was refused. */
function statusMessage(body: unknown): string | undefined {
  let parsed = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      return body.slice(0, 200) || undefined;
    }
  }
  const message = (parsed as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : undefined;
}
