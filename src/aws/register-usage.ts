import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { RegisterUsageCommand, type MarketplaceMeteringClient } from '@aws-sdk/client-marketplace-metering';
import { codeForAwsError, OUTCOMES, unqualifiedErrorName, type OutcomeCode } from '../entitlement/outcomes.js';
import { scrubSecrets } from '../shared/scrub.js';

/**
 * RegisterUsage with a fresh nonce per attempt, retried until a deadline. The SDK's own retries are off
 * (maxAttempts 1 on the client): with them every throttled attempt would become three requests
 * against a quota of 5 per second per account.
 *
 * Two backoffs, because the two kinds of trouble differ:
 * - Throttling means the account's quota (5/s) is shared with other pods starting at the same time.
 *   Equal jitter (half fixed, half random) with a short cap spreads a burst out and keeps the quota
 *   busy until the last pod is through; a long cap would leave the quota idle while the last pods
 *   sleep. bench/ measures it: 100 sidecars finish close to the 20 s floor.
 * - Server errors, network errors and timeouts mean AWS or the route to it is unwell: full jitter
 *   with a long cap, so a fleet waiting out an outage does not hammer it.
 */

export interface Backoff {
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  readonly jitter: 'equal' | 'full';
}

export interface RetryPolicy {
  readonly throttled: Backoff;
  readonly transient: Backoff;
  readonly attemptTimeoutMs: number;
  readonly deadlineMs: number;
}

export const DEFAULT_RETRY_POLICY = {
  throttled: { baseDelayMs: 500, maxDelayMs: 4000, jitter: 'equal' },
  transient: { baseDelayMs: 1000, maxDelayMs: 30_000, jitter: 'full' },
  attemptTimeoutMs: 10_000,
} as const satisfies Omit<RetryPolicy, 'deadlineMs'>;

/** The wait after the `failures`-th consecutive failure: exponential up to a cap, with jitter. */
export function backoffDelayMs(failures: number, backoff: Backoff, random: () => number): number {
  const ceiling = Math.min(backoff.maxDelayMs, backoff.baseDelayMs * 2 ** Math.min(failures - 1, 30));
  const fixed = backoff.jitter === 'equal' ? ceiling / 2 : 0;
  return Math.floor(fixed + random() * (ceiling - fixed));
}

export interface AttemptReport {
  readonly attempt: number;
  readonly code: OutcomeCode;
  readonly awsError: string | undefined;
  /** What went wrong, scrubbed of secrets; undefined for the attempt that succeeded. */
  readonly detail: string | undefined;
  readonly durationMs: number;
  /** Set when another attempt follows. */
  readonly nextDelayMs: number | undefined;
}

export type RegisterResult =
  | {
      readonly kind: 'registered';
      readonly signature: string;
      readonly nonce: string;
      readonly publicKeyRotationTimestamp: Date | undefined;
      readonly attempts: number;
    }
  | {
      readonly kind: 'failed';
      readonly code: OutcomeCode;
      readonly awsError: string | undefined;
      readonly requestId: string | undefined;
      readonly detail: string;
      readonly attempts: number;
    }
  | { readonly kind: 'aborted'; readonly attempts: number };

/** What a retried call needs: its policy, a stop signal, and (for tests) a clock and a dice. */
export interface RetryDeps {
  readonly policy: RetryPolicy;
  readonly signal: AbortSignal;
  readonly now?: () => number;
  readonly random?: () => number;
}

export interface RegisterDeps extends RetryDeps {
  readonly client: Pick<MarketplaceMeteringClient, 'send'>;
  readonly onAttempt?: (report: AttemptReport) => void;
}

export interface ClassifiedError {
  readonly code: OutcomeCode;
  readonly awsError: string | undefined;
  readonly requestId: string | undefined;
  readonly detail: string;
}

const NETWORK_CODES = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT',
  'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN', 'EPROTO', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT',
]);

/** Turns whatever the SDK threw into one of our codes. */
export function classifyError(err: unknown): ClassifiedError {
  const e = err as {
    name?: string;
    code?: string;
    message?: string;
    $metadata?: { httpStatusCode?: number; requestId?: string };
  };
  const status = e.$metadata?.httpStatusCode;
  const requestId = wireToken(e.$metadata?.requestId);
  // Whatever AWS (or a proxy on the way) said goes to logs, /healthz and pod Events: never a credential.
  const detail = scrubSecrets(e.message ?? String(err));
  if (e.name === 'TimeoutError') {
    return { code: 'TIMEOUT', awsError: undefined, requestId, detail };
  }
  if (e.code !== undefined && NETWORK_CODES.has(e.code)) return { code: 'NETWORK_ERROR', awsError: e.code, requestId, detail };
  if (e.name === MALFORMED_RESPONSE) return { code: 'SERVICE_UNAVAILABLE', awsError: MALFORMED_RESPONSE, requestId, detail };
  if (e.name === 'CredentialsProviderError' || e.name === 'ProviderError' || e.name === 'TokenProviderError') {
    return { code: 'CREDENTIALS_UNAVAILABLE', awsError: e.name, requestId, detail };
  }
  if (status === undefined) {
    // No HTTP answer at all and no known network code: treat as a network fault, which is retried.
    return { code: 'NETWORK_ERROR', awsError: wireToken(e.code ?? e.name), requestId, detail };
  }
  const name = wireToken(unqualifiedErrorName(e.name ?? '')) ?? 'UnknownError';
  if (status >= 200 && status < 300) {
    // A 2xx the SDK could not read (truncated or garbled body): a transport fault, not an answer.
    return { code: 'SERVICE_UNAVAILABLE', awsError: MALFORMED_RESPONSE, requestId, detail };
  }
  return { code: codeForAwsError(name, status), awsError: name, requestId, detail };
}

/**
 * An error code or request id as it may appear in /healthz and metrics-adjacent logs: the wire sends
 * whatever the endpoint (or a proxy) put in `__type`, so anything but a short identifier is dropped.
 */
function wireToken(value: unknown): string | undefined {
  return typeof value === 'string' && /^[A-Za-z0-9_.:#/-]{1,128}$/.test(value) ? value : undefined;
}

/** The name of the error for a 2xx answer that is readable JSON but holds something unusable. */
export const MALFORMED_RESPONSE = 'MalformedResponse';

/** A 2xx whose content cannot be used: classified like an unreadable 2xx (a transport fault, retried). */
export function malformedResponse(detail: string, metadata: unknown): Error {
  return Object.assign(new Error(detail), { name: MALFORMED_RESPONSE, $metadata: metadata });
}

function isAbort(err: unknown, signal: AbortSignal): boolean {
  return signal.aborted && (err as { name?: string }).name === 'AbortError';
}

export type RetryResult<T> =
  | { readonly kind: 'done'; readonly value: T; readonly attempts: number }
  | ({ readonly kind: 'failed'; readonly attempts: number } & ClassifiedError)
  | { readonly kind: 'aborted'; readonly attempts: number };

/** One attempt as seen by `onAttempt`: `failure` is undefined for the attempt that succeeded. */
export interface RetryAttempt {
  readonly attempt: number;
  readonly failure: ClassifiedError | undefined;
  readonly durationMs: number;
  /** Set when another attempt follows. */
  readonly nextDelayMs: number | undefined;
}

/**
 * Runs `attempt` until it succeeds, fails for good, or the next try would start after the deadline.
 * Each attempt gets its own timeout; failures are classified by `classifyError`, and only retryable
 * codes are tried again, with the throttling or the transient backoff.
 */
export async function retryWithBackoff<T>(
  attempt: (signal: AbortSignal) => Promise<T>,
  deps: RetryDeps,
  onAttempt?: (report: RetryAttempt) => void,
): Promise<RetryResult<T>> {
  const now = deps.now ?? Date.now;
  const random = deps.random ?? Math.random;
  const deadline = now() + deps.policy.deadlineMs;
  for (let n = 1; ; n++) {
    if (deps.signal.aborted) return { kind: 'aborted', attempts: n - 1 };
    const started = now();
    const attemptSignal = AbortSignal.any([deps.signal, AbortSignal.timeout(deps.policy.attemptTimeoutMs)]);
    let failure: ClassifiedError;
    try {
      const value = await attempt(attemptSignal);
      onAttempt?.({ attempt: n, failure: undefined, durationMs: now() - started, nextDelayMs: undefined });
      return { kind: 'done', value, attempts: n };
    } catch (err) {
      if (isAbort(err, deps.signal)) return { kind: 'aborted', attempts: n };
      failure = attemptSignal.aborted && (err as { name?: string }).name === 'AbortError'
        ? { code: 'TIMEOUT', awsError: undefined, requestId: undefined, detail: `no answer within ${deps.policy.attemptTimeoutMs} ms` }
        : classifyError(err);
    }
    const retryable = OUTCOMES[failure.code].retryable;
    const backoff = failure.code === 'THROTTLED' ? deps.policy.throttled : deps.policy.transient;
    const delay = retryable ? backoffDelayMs(n, backoff, random) : undefined;
    const giveUp = delay !== undefined && now() + delay >= deadline;
    onAttempt?.({ attempt: n, failure, durationMs: now() - started, nextDelayMs: giveUp ? undefined : delay });
    if (delay === undefined) return { kind: 'failed', ...failure, attempts: n };
    if (giveUp) {
      return {
        kind: 'failed',
        code: 'DEADLINE_EXCEEDED',
        awsError: failure.awsError,
        requestId: failure.requestId,
        detail: `gave up after ${n} attempts over ${Math.round(deps.policy.deadlineMs / 1000)} s; last: ${failure.code} ${failure.detail}`,
        attempts: n,
      };
    }
    try {
      await sleep(delay, undefined, { signal: deps.signal });
    } catch {
      return { kind: 'aborted', attempts: n };
    }
  }
}

export async function registerWithRetry(
  request: { productCode: string; publicKeyVersion: number },
  deps: RegisterDeps,
): Promise<RegisterResult> {
  const result = await retryWithBackoff(
    async (signal) => {
      const nonce = randomBytes(24).toString('base64url');
      const out = await deps.client.send(
        new RegisterUsageCommand({ ProductCode: request.productCode, PublicKeyVersion: request.publicKeyVersion, Nonce: nonce }),
        { abortSignal: signal },
      );
      if (typeof out.Signature !== 'string' || out.Signature === '') {
        // A 2xx without a token: classifyError treats an unreadable 2xx as a transport fault, retried.
        throw malformedResponse('the response has no Signature', out.$metadata);
      }
      const rotation = out.PublicKeyRotationTimestamp;
      // The SDK turns an epoch outside Date's range (1e20, -1e13) into an Invalid Date: not a time at all.
      if (rotation !== undefined && !Number.isFinite(rotation.getTime())) {
        throw malformedResponse('the response has a PublicKeyRotationTimestamp that is not a representable time', out.$metadata);
      }
      return { signature: out.Signature, nonce, publicKeyRotationTimestamp: rotation };
    },
    deps,
    deps.onAttempt === undefined
      ? undefined
      : (a) =>
          deps.onAttempt?.({
            attempt: a.attempt,
            code: a.failure?.code ?? 'ENTITLED',
            awsError: a.failure?.awsError,
            detail: a.failure?.detail,
            durationMs: a.durationMs,
            nextDelayMs: a.nextDelayMs,
          }),
  );
  return result.kind === 'done' ? { kind: 'registered', ...result.value, attempts: result.attempts } : result;
}
