/**
 * What an emulated AWS service is: a SigV4 signing name, how requests reach it (the protocol: AWS
 * JSON 1.1 under an `x-amz-target` prefix, or AWS Query with an `Action` in a form body), its
 * operations (each an input shape, a quota and a handler) and how its errors and faults look on the wire. The pipeline in api.ts is the same for
 * every service and every operation; services are listed in services.ts. Types only: the handlers
 * import these, nothing here imports a handler.
 */
import type { Logger } from 'pino';
import type { ApiError } from './errors.js';
import type { LicenseIssuer } from './license-manager/signed-token.js';
import type { TokenMinter } from './metering/tokens.js';
import type { RateLimiter } from './rate-limit.js';
import type { OperationName, RateLimit, Scenario } from './scenario.js';
import type { SigV4Credential, SigV4Identity } from './sigv4.js';
import type { EmulatorStore } from './state.js';
import type { ShapeSpec } from './validate.js';

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
  /** How long a PROVISIONAL checkout holds its units unless extended (AWS Marketplace: 60 minutes). */
  readonly consumptionTtlMs: number;
  /** How long a GetAccessToken access token lives (AWS: one hour). */
  readonly accessTokenTtlMs: number;
  /** How long STS credentials live when AssumeRoleWithWebIdentity asks for no DurationSeconds (AWS: one hour). */
  readonly stsCredentialsTtlMs: number;
}

/** Per-emulator dependencies every request needs. */
export interface ApiDeps {
  readonly config: EmulatorConfig;
  readonly store: EmulatorStore;
  readonly limiter: RateLimiter;
  readonly minter: TokenMinter;
  /** Signs License Manager's SignedToken (PS384). */
  readonly licenseIssuer: LicenseIssuer;
  readonly lookupCredential: (accessKeyId: string) => SigV4Credential | undefined;
  readonly now: () => Date;
  readonly logger: Logger;
  /** Aborted when the emulator closes, so pending latency waits end. */
  readonly signal: AbortSignal;
}

export interface OperationCall {
  readonly operation: OperationName;
  readonly input: Readonly<Record<string, unknown>>;
  /** null for an unsigned request to an operation that takes one (`anonymous`). */
  readonly identity: SigV4Identity | null;
  /** The caller's AWS account (the credential's); null when unsigned. */
  readonly account: string | null;
  /** Access key id plus a hash of the session token: one ECS task or EKS pod ('anonymous' when unsigned). */
  readonly caller: string;
  readonly scenario: Scenario;
  /** Whether the scenario's mode and injected faults apply to this operation (`faultOperations`). */
  readonly faultsApply: boolean;
  readonly deps: ApiDeps;
}

export interface ApiOperation {
  readonly input: ShapeSpec;
  /**
   * Whether a request without any Authorization header is taken (AWS's own clients call the operation
   * with anonymous credentials: the token in the body is the credential). A signed request is still
   * verified like any other.
   */
  readonly anonymous?: boolean;
  /** This operation's quota in the scenario. */
  rateLimit(scenario: Readonly<Scenario>): RateLimit | null;
  /** The answer to a request signed for another region than the endpoint's (default: InvalidSignatureException). */
  regionError?(signedFor: string, serves: string): ApiError;
  /** The response members on success (the protocol writes them as JSON or XML); throws ApiError for an AWS error. */
  run(call: OperationCall): Promise<Record<string, unknown>>;
}

/** AWS JSON 1.1: POST /, `x-amz-target: <prefix><Operation>`, JSON bodies, errors as `{"__type", message}`. */
export interface JsonProtocol {
  readonly kind: 'json-1.1';
  /** `x-amz-target` is this prefix plus the operation name. */
  readonly targetPrefix: string;
  /** The member of an error body that holds the message (`message`, or `Message` for License Manager). */
  readonly errorMessageKey: 'message' | 'Message';
}

/**
 * AWS Query: POST / with a form body `Action=<Operation>&Version=<version>&...`, XML answers
 * `<OperationResponse xmlns><OperationResult>...` and errors `<ErrorResponse><Error><Type><Code><Message>`.
 */
export interface QueryProtocol {
  readonly kind: 'query';
  /** The API version every request must name, e.g. 2011-06-15. */
  readonly version: string;
  readonly xmlNamespace: string;
}

export interface Service {
  /** For logs and the calls list: "Marketplace Metering". */
  readonly name: string;
  /** The SigV4 signing name (the credential scope's service). */
  readonly signingName: string;
  readonly protocol: JsonProtocol | QueryProtocol;
  readonly operations: Readonly<Partial<Record<OperationName, ApiOperation>>>;
  /** What a caller over its quota, or an injected throttle, gets. */
  throttled(): ApiError;
  /** What an injected server fault, or an emulator bug, gets. */
  internalError(): ApiError;
}
