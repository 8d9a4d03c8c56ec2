/**
 * Dispatch by operation name. Each operation is one `Operation` listed in `operationTable`; the
 * pipeline in api.ts is the same for all of them.
 */
import type { Logger } from 'pino';
import { batchMeterUsage } from './batch-meter-usage.js';
import type { ApiError } from './errors.js';
import { meterUsage } from './meter-usage.js';
import type { RateLimiter } from './rate-limit.js';
import { registerUsage } from './register-usage.js';
import { resolveCustomer } from './resolve-customer.js';
import { METERING_OPERATIONS } from './scenario.js';
import type { MeteringOperation, RateLimit, Scenario } from './scenario.js';
import type { SigV4Credential, SigV4Identity } from './sigv4.js';
import type { EmulatorStore } from './state.js';
import type { TokenMinter } from './tokens.js';
import type { ShapeSpec } from './validate.js';

export { METERING_OPERATIONS };
export type { MeteringOperation };

/** What an emulator instance is configured with (fixed for its life; the scenario is what changes). */
export interface EmulatorConfig {
  readonly region: string;
  /** null = every well-formed product code exists. */
  readonly productCodes: ReadonlySet<string> | null;
  readonly publicKeyVersions: ReadonlySet<number>;
  /** null = every well-formed dimension exists. */
  readonly dimensions: ReadonlySet<string> | null;
  /** How far back a MeterUsage Timestamp may be (AWS: 6 h now, 1 h in older docs). */
  readonly meterUsageLookBackMs: number;
  /** How far back a BatchMeterUsage Timestamp may be (AWS: 24 h in the newest docs). */
  readonly batchMeterUsageLookBackMs: number;
}

/** Per-emulator dependencies every request needs. */
export interface ApiDeps {
  readonly config: EmulatorConfig;
  readonly store: EmulatorStore;
  readonly limiter: RateLimiter;
  readonly minter: TokenMinter;
  readonly lookupCredential: (accessKeyId: string) => SigV4Credential | undefined;
  readonly now: () => Date;
  readonly logger: Logger;
  /** Aborted when the emulator closes, so pending latency waits end. */
  readonly signal: AbortSignal;
}

export interface OperationCall {
  readonly operation: MeteringOperation;
  readonly input: Readonly<Record<string, unknown>>;
  readonly identity: SigV4Identity;
  /** Access key id plus a hash of the session token: one ECS task or EKS pod. */
  readonly caller: string;
  readonly scenario: Scenario;
  /** Whether the scenario's mode and injected faults apply to this operation (`faultOperations`). */
  readonly faultsApply: boolean;
  readonly deps: ApiDeps;
}

export interface Operation {
  readonly input: ShapeSpec;
  /** This operation's quota in the scenario. */
  rateLimit(scenario: Readonly<Scenario>): RateLimit | null;
  /** The answer to a request signed for another region than the endpoint's (default: InvalidRegionException). */
  regionError?(signedFor: string, serves: string): ApiError;
  /** The JSON response members on success; throws ApiError for an AWS error. */
  run(call: OperationCall): Promise<Record<string, unknown>>;
}

export const operationTable: Readonly<Record<MeteringOperation, Operation>> = {
  RegisterUsage: registerUsage,
  MeterUsage: meterUsage,
  BatchMeterUsage: batchMeterUsage,
  ResolveCustomer: resolveCustomer,
};

export function isMeteringOperation(name: string): name is MeteringOperation {
  return (METERING_OPERATIONS as readonly string[]).includes(name);
}
