/**
 * MeterUsage: a container task or pod reports one hour's usage of one dimension. After the common
 * pipeline (auth, validation, rate limit, latency, injected faults), in order:
 *   1. configured product codes, then the mode's every-call failures   -> InvalidProductCode, InvalidEndpointRegion, DisabledApi
 *   2. configured dimensions                                           -> InvalidUsageDimensionException
 *   3. tags, then allocations (usage.ts)                               -> InvalidTagException, InvalidUsageAllocationsException
 *   4. the Timestamp window: look-back .. now + 5 min                   -> TimestampOutOfBoundsException
 *   5. the caller's first call (shared with RegisterUsage)             -> CustomerNotEntitledException
 *   6. DryRun: stop here, answer `{}`, record nothing
 *   7. ClientToken seen before: same request -> its record id; different -> IdempotencyConflictException
 *   8. one record per caller, product, dimension and hour (Timestamp rounded down): same quantity and
 *      allocations -> the ORIGINAL record id; anything else -> DuplicateRequestException
 *
 * A dry run never consults the records: a sidecar restarted mid-hour dry-runs its dimensions at start,
 * and that must not fail because the hour already has a record.
 * The wire form of a dry run's success is undocumented (the model's prose speaks of a "DryRunOperation"
 * answer that no model shape or error carries); AWS's own sample code treats "no error" as success, so
 * the emulator answers 200 with an empty result.
 * ClientTokens are scoped to the account, like AWS's other idempotency tokens. The JS SDK sends a fresh
 * one with every command, so hour idempotency (8) must not depend on them.
 */
import { randomUUID } from 'node:crypto';
import { modelError } from './errors.js';
import { admitCaller, modeFailure } from './modes.js';
import type { ApiOperation, OperationCall } from '../service.js';
import { METER_USAGE_INPUT } from './shapes.js';
import type { WireAllocation } from './shapes.js';
import { checkAllocations, checkWindow, hourOfTimestamp, isoOrRaw, recordedAllocations, usageFingerprint } from './usage-rules.js';

interface MeterUsageInput {
  readonly ProductCode: string;
  readonly Timestamp: number;
  readonly UsageDimension: string;
  readonly UsageQuantity?: number;
  readonly DryRun?: boolean;
  readonly UsageAllocations?: readonly WireAllocation[];
  readonly ClientToken?: string;
}

export const meterUsage: ApiOperation = {
  input: METER_USAGE_INPUT,
  rateLimit: (scenario) => scenario.meterUsageRateLimit,
  regionError: (signedFor, serves) =>
    modelError('InvalidEndpointRegionException', `The request was signed for region '${signedFor}' but this endpoint serves '${serves}'.`),

  async run(call: OperationCall): Promise<Record<string, unknown>> {
    const { config, now, store } = call.deps;
    const input = call.input as unknown as MeterUsageInput;
    const quantity = input.UsageQuantity ?? 0;

    if (config.productCodes !== null && !config.productCodes.has(input.ProductCode)) throw modelError('InvalidProductCodeException');
    const failure = modeFailure(call);
    if (failure !== undefined) throw failure;
    if (config.dimensions !== null && !config.dimensions.has(input.UsageDimension)) {
      throw modelError('InvalidUsageDimensionException', `"${input.UsageDimension}" is not one of: ${[...config.dimensions].join(', ')}.`);
    }
    checkAllocations(input.UsageAllocations, quantity);
    checkWindow(input.Timestamp, now(), config.meterUsageLookBackMs);
    admitCaller(call);
    if (input.DryRun === true) return {};

    const usage = usageFingerprint(quantity, input.UsageAllocations);
    const request = JSON.stringify([input.ProductCode, input.Timestamp, input.UsageDimension, usage]);
    const tokenKey = input.ClientToken === undefined ? undefined : `${call.account}/${input.ClientToken}`;
    const earlier = tokenKey === undefined ? undefined : store.records.clientToken(tokenKey);
    if (earlier !== undefined) {
      if (earlier.fingerprint !== request) throw modelError('IdempotencyConflictException', 'It was first used with different parameters.');
      return { MeteringRecordId: earlier.meteringRecordId };
    }

    const hour = hourOfTimestamp(input.Timestamp);
    const key = JSON.stringify(['MeterUsage', call.caller, input.ProductCode, input.UsageDimension, hour]);
    const existing = store.records.find(key);
    let meteringRecordId: string;
    if (existing !== undefined) {
      if (existing.fingerprint !== usage) {
        throw modelError(
          'DuplicateRequestException',
          `The hour ${new Date(hour).toISOString()} of "${input.UsageDimension}" already has a record from this task/pod with quantity ${existing.record.quantity}; this call has ${quantity}${existing.record.quantity === quantity ? ' allocated differently' : ''}.`,
        );
      }
      meteringRecordId = existing.record.meteringRecordId;
    } else {
      meteringRecordId = randomUUID();
      store.records.add(key, usage, {
        operation: 'MeterUsage',
        meteringRecordId,
        caller: call.caller,
        productCode: input.ProductCode,
        dimension: input.UsageDimension,
        hour: new Date(hour).toISOString(),
        timestamp: isoOrRaw(input.Timestamp),
        quantity,
        allocations: recordedAllocations(input.UsageAllocations),
        clientToken: input.ClientToken ?? null,
        customerIdentifier: null,
        customerAWSAccountId: null,
        licenseArn: null,
        time: now().toISOString(),
      });
    }
    if (tokenKey !== undefined) store.records.rememberClientToken(tokenKey, request, meteringRecordId);
    return { MeteringRecordId: meteringRecordId };
  },
};
