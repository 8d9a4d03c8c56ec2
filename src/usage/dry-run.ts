import { MeterUsageCommand, type MarketplaceMeteringClient } from '@aws-sdk/client-marketplace-metering';
import { setTimeout as sleep } from 'node:timers/promises';
import { unqualifiedErrorName } from '../outcomes.js';
import { backoffDelayMs, type Backoff } from '../register.js';

/**
 * MeterUsage with DryRun for each dimension at start, as AWS asks: it proves credentials, region,
 * product code and dimension names before the app runs. Throttling and transient faults are retried
 * until the deadline; any other error is the answer.
 */

export type DryRunResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly dimension: string; readonly awsError: string; readonly detail: string; readonly transient: boolean };

export interface DryRunDeps {
  readonly client: Pick<MarketplaceMeteringClient, 'send'>;
  readonly productCode: string;
  readonly dimensions: readonly string[];
  readonly signal: AbortSignal;
  readonly deadline: number;
  readonly now?: () => number;
  readonly backoff: { readonly throttled: Backoff; readonly transient: Backoff };
  readonly attemptTimeoutMs: number;
}

export async function dryRunDimensions(deps: DryRunDeps): Promise<DryRunResult | 'aborted'> {
  const now = deps.now ?? Date.now;
  for (const dimension of deps.dimensions) {
    for (let failures = 1; ; failures++) {
      if (deps.signal.aborted) return 'aborted';
      try {
        await deps.client.send(
          new MeterUsageCommand({ ProductCode: deps.productCode, Timestamp: new Date(now()), UsageDimension: dimension, UsageQuantity: 0, DryRun: true }),
          { abortSignal: AbortSignal.any([deps.signal, AbortSignal.timeout(deps.attemptTimeoutMs)]) },
        );
        break;
      } catch (err) {
        if (deps.signal.aborted) return 'aborted';
        const e = err as { name?: string; code?: string; message?: string; $metadata?: { httpStatusCode?: number } };
        const status = e.$metadata?.httpStatusCode;
        const awsError = unqualifiedErrorName(e.name ?? '') || e.code || 'Error';
        const throttled = awsError === 'ThrottlingException';
        const transient = throttled || status === undefined || status >= 500 || awsError === 'AbortError' || awsError === 'TimeoutError';
        const detail = e.message ?? String(err);
        if (!transient) return { ok: false, dimension, awsError, detail, transient: false };
        const delay = backoffDelayMs(failures, throttled ? deps.backoff.throttled : deps.backoff.transient, Math.random);
        if (now() + delay >= deps.deadline) return { ok: false, dimension, awsError, detail, transient: true };
        try {
          await sleep(delay, undefined, { signal: deps.signal });
        } catch {
          return 'aborted';
        }
      }
    }
  }
  return { ok: true };
}
