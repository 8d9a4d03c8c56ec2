import { setTimeout as sleep } from 'node:timers/promises';
import { OUTCOMES, type OutcomeCode } from '../entitlement/outcomes.js';
import { attemptTimeout, classifyError, type AwsService, type ClassifiedError } from './errors.js';

/**
 * Retries of AWS calls until a deadline, for every caller here. The SDK's own retries are off
 * (maxAttempts 1 on every client): with them every throttled attempt would become three requests
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

/** What a retried call needs: its policy, a stop signal, and (for tests) a clock and a dice. */
export interface RetryDeps {
  readonly policy: RetryPolicy;
  readonly signal: AbortSignal;
  readonly now?: () => number;
  readonly random?: () => number;
  /** Stop after this many attempts and return the last failure as it is (a periodic check tries again later). */
  readonly maxAttempts?: number;
  /** Which service's error names the classifier reads (default the Metering API's). */
  readonly classifyAs?: AwsService;
}

function isAbort(err: unknown, signal: AbortSignal): boolean {
  return signal.aborted && (err as { name?: string }).name === 'AbortError';
}

export type RetryResult<T> =
  | { readonly kind: 'done'; readonly value: T; readonly attempts: number }
  | ({ readonly kind: 'failed'; readonly attempts: number } & ClassifiedError)
  | { readonly kind: 'aborted'; readonly attempts: number };

/** One attempt as a caller reports it on: its outcome code (the success code when it succeeded), AWS's error name, the scrubbed detail. */
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
      failure = classifyError(attemptSignal.aborted && (err as { name?: string }).name === 'AbortError' ? attemptTimeout(deps.policy.attemptTimeoutMs) : err, deps.classifyAs);
    }
    const retryable = OUTCOMES[failure.code].retryable;
    const backoff = failure.code === 'THROTTLED' ? deps.policy.throttled : deps.policy.transient;
    const delay = retryable ? backoffDelayMs(n, backoff, random) : undefined;
    const lastAttempt = deps.maxAttempts !== undefined && n >= deps.maxAttempts;
    const giveUp = delay !== undefined && !lastAttempt && now() + delay >= deadline;
    onAttempt?.({ attempt: n, failure, durationMs: now() - started, nextDelayMs: giveUp || lastAttempt ? undefined : delay });
    // Out of attempts: the failure is returned as it is, transient or not; the caller tries again later.
    if (delay === undefined || lastAttempt) return { kind: 'failed', ...failure, attempts: n };
    if (giveUp) {
      return {
        kind: 'failed',
        code: 'DEADLINE_EXCEEDED',
        awsError: failure.awsError,
        requestId: failure.requestId,
        delivery: failure.delivery,
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

