import { MeterUsageCommand, type MarketplaceMeteringClient } from '@aws-sdk/client-marketplace-metering';
import { retryWithBackoff, type RetryPolicy } from '../aws/retry.js';

/**
 * MeterUsage with DryRun for each dimension at start, as AWS asks: it proves credentials, region,
 * product code and dimension names before the app runs. Throttling and transient faults are retried
 * until the deadline, exactly as RegisterUsage is; any other error is the answer.
 */

export type DryRunResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly dimension: string; readonly awsError: string; readonly detail: string; readonly transient: boolean };

export interface DryRunDeps {
  readonly client: Pick<MarketplaceMeteringClient, 'send'>;
  readonly productCode: string;
  readonly dimensions: readonly string[];
  readonly signal: AbortSignal;
  /** The retry policy; its deadline covers all the dimensions together. */
  readonly policy: RetryPolicy;
  /** The metering clock: the dry run's Timestamp must be "now" as AWS sees it. */
  readonly now?: () => number;
}

export async function dryRunDimensions(deps: DryRunDeps): Promise<DryRunResult | 'aborted'> {
  const now = deps.now ?? Date.now;
  const deadline = now() + deps.policy.deadlineMs;
  for (const dimension of deps.dimensions) {
    const result = await retryWithBackoff(
      (signal) =>
        deps.client.send(
          new MeterUsageCommand({ ProductCode: deps.productCode, Timestamp: new Date(now()), UsageDimension: dimension, UsageQuantity: 0, DryRun: true }),
          { abortSignal: signal },
        ),
      { policy: { ...deps.policy, deadlineMs: deadline - now() }, signal: deps.signal, now },
    );
    if (result.kind === 'aborted') return 'aborted';
    if (result.kind === 'failed') {
      return {
        ok: false,
        dimension,
        awsError: result.awsError ?? result.code,
        detail: result.detail,
        transient: result.code === 'DEADLINE_EXCEEDED',
      };
    }
  }
  return { ok: true };
}
