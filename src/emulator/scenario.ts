/**
 * What the emulator is told to do: the entitlement answer, injected faults and token defects.
 * One parser serves the start options, `setScenario` and the admin endpoint, so all three accept
 * and reject exactly the same input with the same messages.
 *
 * What each mode means per operation (an operation not named answers as if `entitled`):
 *   not-entitled               RegisterUsage, MeterUsage: CustomerNotEntitledException on a caller's
 *                              FIRST call of either kind (AWS: entitlement errors only on the first
 *                              call from a task/pod)
 *   platform-not-supported     RegisterUsage: PlatformNotSupportedException on the first call
 *                              (MeterUsage has no such error; its call still counts as the first)
 *   invalid-product-code       RegisterUsage, MeterUsage, BatchMeterUsage: InvalidProductCodeException
 *   invalid-region             RegisterUsage: InvalidRegionException; MeterUsage: InvalidEndpointRegionException
 *   invalid-public-key-version RegisterUsage: InvalidPublicKeyVersionException
 *   disabled-api               every operation: DisabledApiException
 * The modes are the Metering API's; License Manager and STS answer as if `entitled` in every mode.
 * `faultOperations` limits the mode, throttle, internalError, latencyMs, badToken, unprocessed and
 * authorizationErrors to the listed operations (null = all), so a test can fail MeterUsage while
 * RegisterUsage keeps succeeding, or CheckInLicense while CheckoutLicense does; throttle/internalError/
 * unprocessed counters only count down on those operations. Rate limits are quotas, not faults: each
 * operation always has its own bucket per account.
 */

export const MODES = [
  'entitled',
  'not-entitled',
  'platform-not-supported',
  'invalid-product-code',
  'invalid-region',
  'invalid-public-key-version',
  'disabled-api',
] as const;
export type Mode = (typeof MODES)[number];

export const BAD_TOKENS = [
  'tampered-signature',
  'wrong-nonce',
  'wrong-product-code',
  'wrong-key-version',
  'alg-none',
  'rs256',
  'hs256-public-key',
  'foreign-key',
  'future-iat',
  'missing-claims',
  'pascal-case-claims',
] as const;
export type BadToken = (typeof BAD_TOKENS)[number];

/** The Metering API's operations. */
export const METERING_OPERATIONS = ['RegisterUsage', 'MeterUsage', 'BatchMeterUsage', 'ResolveCustomer'] as const;
export type MeteringOperation = (typeof METERING_OPERATIONS)[number];

/** License Manager's operations the emulator serves. */
export const LICENSE_MANAGER_OPERATIONS = ['CheckoutLicense', 'CheckInLicense', 'ExtendLicenseConsumption', 'GetLicense', 'ListReceivedLicenses', 'GetAccessToken'] as const;
export type LicenseManagerOperation = (typeof LICENSE_MANAGER_OPERATIONS)[number];

/** STS's operations the emulator serves. */
export const STS_OPERATIONS = ['AssumeRoleWithWebIdentity'] as const;
export type StsOperation = (typeof STS_OPERATIONS)[number];

/** Every operation of every service (also what `faultOperations` may name). */
export const OPERATIONS = [...METERING_OPERATIONS, ...LICENSE_MANAGER_OPERATIONS, ...STS_OPERATIONS] as const;
export type OperationName = (typeof OPERATIONS)[number];

/** What a credential named in `authorizationErrors` gets from License Manager (both are modelled errors). */
export const AUTHORIZATION_ERRORS = ['AuthorizationException', 'AccessDeniedException'] as const;
export type AuthorizationError = (typeof AUTHORIZATION_ERRORS)[number];

export interface RateLimit {
  /** Tokens added per second. */
  perSecond: number;
  /** Bucket size: how many calls may arrive at once. */
  burst: number;
}

export interface Scenario {
  mode: Mode;
  /** The next N calls answer ThrottlingException. */
  throttle: number;
  /** The next N calls answer 500 InternalServiceErrorException. */
  internalError: number;
  /** RegisterUsage's per-account token bucket; null switches it off. */
  rateLimit: RateLimit | null;
  /** Wall-clock delay before answering (a real timer, so client timeouts can be tested). */
  latencyMs: number;
  /** Epoch seconds sent as PublicKeyRotationTimestamp; null leaves the field out, as AWS does for a current key. */
  rotationTimestamp: number | null;
  /** Mint a defective token instead of a valid one, to test verifiers. */
  badToken: BadToken | null;
  /** MeterUsage's per-account token bucket (AWS: 10 requests/second per account). */
  meterUsageRateLimit: RateLimit | null;
  /** BatchMeterUsage's per-account token bucket (AWS: 10 requests/second). */
  batchMeterUsageRateLimit: RateLimit | null;
  /** ResolveCustomer's per-account token bucket (AWS publishes no number; 10/s like its siblings). */
  resolveCustomerRateLimit: RateLimit | null;
  /** The next N BatchMeterUsage records (across calls) come back in UnprocessedRecords. */
  unprocessed: number;
  /** The operations the mode and injected faults apply to; null = all. */
  faultOperations: OperationName[] | null;
  /** Each License Manager operation's per-account token bucket (AWS publishes no number; 10/s like its siblings). */
  licenseManagerRateLimit: RateLimit | null;
  /**
   * Access key id -> the error License Manager answers that credential (an IAM denial, e.g. the node's
   * instance role calling CheckoutLicense). A patch replaces the whole map; `{}` clears it.
   */
  authorizationErrors: Record<string, AuthorizationError>;
}

/** AWS's quotas: RegisterUsage 5 requests per second per account per region, MeterUsage and BatchMeterUsage 10. */
export const DEFAULT_SCENARIO: Readonly<Scenario> = Object.freeze({
  mode: 'entitled',
  throttle: 0,
  internalError: 0,
  rateLimit: Object.freeze({ perSecond: 5, burst: 5 }),
  latencyMs: 0,
  rotationTimestamp: null,
  badToken: null,
  meterUsageRateLimit: Object.freeze({ perSecond: 10, burst: 10 }),
  batchMeterUsageRateLimit: Object.freeze({ perSecond: 10, burst: 10 }),
  resolveCustomerRateLimit: Object.freeze({ perSecond: 10, burst: 10 }),
  unprocessed: 0,
  faultOperations: null,
  licenseManagerRateLimit: Object.freeze({ perSecond: 10, burst: 10 }),
  authorizationErrors: Object.freeze({}) as Record<string, AuthorizationError>,
});

type RateLimitKey = 'rateLimit' | 'meterUsageRateLimit' | 'batchMeterUsageRateLimit' | 'resolveCustomerRateLimit' | 'licenseManagerRateLimit';

const KEYS = Object.keys(DEFAULT_SCENARIO) as (keyof Scenario)[];
const MAX_LATENCY_MS = 600_000;

export type ScenarioParse = { ok: true; patch: Partial<Scenario> } | { ok: false; problems: string[] };

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function parseRateLimit(key: RateLimitKey, v: unknown, problems: string[]): RateLimit | null | undefined {
  if (v === null) return null;
  const allowed = `${key} must be null or {"perSecond": number > 0, "burst": integer >= 1}`;
  if (typeof v !== 'object' || Array.isArray(v)) {
    problems.push(allowed);
    return undefined;
  }
  const { perSecond, burst, ...rest } = v as Record<string, unknown>;
  const extra = Object.keys(rest);
  const ok =
    typeof perSecond === 'number' && Number.isFinite(perSecond) && perSecond > 0 &&
    typeof burst === 'number' && Number.isSafeInteger(burst) && burst >= 1 && extra.length === 0;
  if (!ok) {
    problems.push(extra.length > 0 ? `${allowed}; unknown field(s): ${extra.join(', ')}` : allowed);
    return undefined;
  }
  return { perSecond, burst };
}

function parseAuthorizationErrors(v: unknown, problems: string[]): Record<string, AuthorizationError> | undefined {
  const allowed = `authorizationErrors must be an object mapping access key ids to one of: ${AUTHORIZATION_ERRORS.join(', ')}`;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    problems.push(allowed);
    return undefined;
  }
  // Through a Map: an access key id may be any word, "__proto__" included.
  const map = new Map<string, AuthorizationError>();
  for (const [key, error] of Object.entries(v)) {
    if (!/^[A-Za-z0-9]{1,128}$/.test(key) || !(AUTHORIZATION_ERRORS as readonly unknown[]).includes(error)) {
      problems.push(`${allowed}; ${JSON.stringify(key)}: ${JSON.stringify(error)} is not`);
      return undefined;
    }
    map.set(key, error as AuthorizationError);
  }
  return Object.fromEntries(map);
}

/** Checks a partial scenario from untrusted input, collecting every problem, each naming its field. */
export function parseScenarioPatch(input: unknown): ScenarioParse {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { ok: false, problems: [`scenario must be a JSON object with any of: ${KEYS.join(', ')}`] };
  }
  const problems: string[] = [];
  const patch: Partial<Scenario> = {};
  for (const [key, value] of Object.entries(input)) {
    // `{ mode: undefined }` is a valid Partial<Scenario> in TypeScript: it means "not given".
    if (value === undefined) continue;
    switch (key) {
      case 'mode':
        if ((MODES as readonly unknown[]).includes(value)) patch.mode = value as Mode;
        else problems.push(`mode must be one of: ${MODES.join(', ')}`);
        break;
      case 'throttle':
      case 'internalError':
      case 'unprocessed':
        if (isCount(value)) patch[key] = value;
        else problems.push(`${key} must be an integer >= 0`);
        break;
      case 'latencyMs':
        if (isCount(value) && value <= MAX_LATENCY_MS) patch.latencyMs = value;
        else problems.push(`latencyMs must be an integer from 0 to ${MAX_LATENCY_MS}`);
        break;
      case 'rotationTimestamp':
        if (value === null || isCount(value)) patch.rotationTimestamp = value;
        else problems.push('rotationTimestamp must be null or an integer >= 0 (epoch seconds)');
        break;
      case 'badToken':
        if (value === null || (BAD_TOKENS as readonly unknown[]).includes(value)) patch.badToken = value as BadToken | null;
        else problems.push(`badToken must be null or one of: ${BAD_TOKENS.join(', ')}`);
        break;
      case 'rateLimit':
      case 'meterUsageRateLimit':
      case 'batchMeterUsageRateLimit':
      case 'resolveCustomerRateLimit':
      case 'licenseManagerRateLimit': {
        const parsed = parseRateLimit(key, value, problems);
        if (parsed !== undefined) patch[key] = parsed;
        break;
      }
      case 'faultOperations': {
        const ok = value === null || (Array.isArray(value) && value.every((op) => (OPERATIONS as readonly unknown[]).includes(op)));
        if (ok) patch.faultOperations = value === null ? null : [...new Set(value as OperationName[])];
        else problems.push(`faultOperations must be null (all operations) or a list of: ${OPERATIONS.join(', ')}`);
        break;
      }
      case 'authorizationErrors': {
        const parsed = parseAuthorizationErrors(value, problems);
        if (parsed !== undefined) patch.authorizationErrors = parsed;
        break;
      }
      default:
        problems.push(`${key} is not a scenario field; allowed fields: ${KEYS.join(', ')}`);
    }
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, patch };
}

/** A fresh scenario: the base with the (already parsed) patch applied. Nested objects are copied, never shared. */
export function applyScenario(base: Readonly<Scenario>, patch: Partial<Scenario>): Scenario {
  const merged = { ...base, ...patch };
  const copy = (l: RateLimit | null): RateLimit | null => (l === null ? null : { ...l });
  return {
    ...merged,
    rateLimit: copy(merged.rateLimit),
    meterUsageRateLimit: copy(merged.meterUsageRateLimit),
    batchMeterUsageRateLimit: copy(merged.batchMeterUsageRateLimit),
    resolveCustomerRateLimit: copy(merged.resolveCustomerRateLimit),
    faultOperations: merged.faultOperations === null ? null : [...merged.faultOperations],
    licenseManagerRateLimit: copy(merged.licenseManagerRateLimit),
    authorizationErrors: { ...merged.authorizationErrors },
  };
}

/** Whether the mode and injected faults apply to this operation. */
export function faultsApplyTo(scenario: Readonly<Scenario>, operation: OperationName): boolean {
  return scenario.faultOperations === null || scenario.faultOperations.includes(operation);
}

/** Parses and applies, or throws a TypeError listing every problem (for the programmatic API). */
export function mergeScenario(base: Readonly<Scenario>, input: unknown): Scenario {
  const parsed = parseScenarioPatch(input);
  if (!parsed.ok) throw new TypeError(`invalid emulator scenario: ${parsed.problems.join('; ')}`);
  return applyScenario(base, parsed.patch);
}
