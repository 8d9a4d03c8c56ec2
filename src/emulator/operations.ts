/**
 * Dispatch by operation name. Adding MeterUsage, BatchMeterUsage or ResolveCustomer means writing
 * one more `Operation` and listing it in `operationTable`; the pipeline in api.ts stays as it is.
 */
import type { Logger } from 'pino';
import type { RateLimiter } from './rate-limit.js';
import type { Scenario } from './scenario.js';
import type { SigV4Credential, SigV4Identity } from './sigv4.js';
import type { EmulatorStore } from './state.js';
import type { TokenMinter } from './tokens.js';
import type { ShapeSpec } from './validate.js';
import { registerUsage } from './register-usage.js';

/** The service's operations, so counts can name them even before they are implemented. */
export const METERING_OPERATIONS = ['RegisterUsage', 'MeterUsage', 'BatchMeterUsage', 'ResolveCustomer'] as const;
export type MeteringOperation = (typeof METERING_OPERATIONS)[number];

/** What an emulator instance is configured with (fixed for its life; the scenario is what changes). */
export interface EmulatorConfig {
  readonly region: string;
  /** null = every well-formed product code exists. */
  readonly productCodes: ReadonlySet<string> | null;
  readonly publicKeyVersions: ReadonlySet<number>;
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
  readonly input: Readonly<Record<string, unknown>>;
  readonly identity: SigV4Identity;
  /** Access key id plus a hash of the session token: one ECS task or EKS pod. */
  readonly caller: string;
  readonly scenario: Scenario;
  readonly deps: ApiDeps;
}

export interface Operation {
  readonly input: ShapeSpec;
  /** The JSON response members on success; throws ApiError for an AWS error. */
  run(call: OperationCall): Promise<Record<string, unknown>>;
}

export const operationTable: Readonly<Partial<Record<MeteringOperation, Operation>>> = {
  RegisterUsage: registerUsage,
};

export function isMeteringOperation(name: string): name is MeteringOperation {
  return (METERING_OPERATIONS as readonly string[]).includes(name);
}
