/**
 * A local, faithful stand-in for the AWS Marketplace Metering API (RegisterUsage, MeterUsage,
 * BatchMeterUsage, ResolveCustomer), AWS License Manager (CheckoutLicense, CheckInLicense,
 * ExtendLicenseConsumption, GetLicense, ListReceivedLicenses, GetAccessToken) and STS
 * (AssumeRoleWithWebIdentity) on one endpoint: real HTTP, AWS JSON 1.1 and AWS Query, SigV4 checked, PS256 tokens and PS384 signed licenses from key pairs made at start, metering
 * records and checkouts kept for tests to assert on, and scenarios to make it answer every way AWS
 * can. Nothing can be tested locally against AWS itself (RegisterUsage and MeterUsage only work from
 * ECS/EKS tasks of a subscribed account, CheckoutLicense only for a buyer's license), which is why
 * this exists.
 */
import { pino } from 'pino';
import type { Logger } from 'pino';
import { customersProblems, parseTokenRequest } from './metering/customers.js';
import type { IssuedRegistrationToken, RegistrationTokenRequest, SubscribedCustomer } from './metering/customers.js';
import { writeFileAtomic } from '../shared/atomic-file.js';
import { closeServer, listen } from '../shared/http.js';
import { REGION_PATTERN } from '../aws/region.js';
import { isLoopbackIp } from '../shared/addresses.js';
import { parseAllowedHosts } from './host-check.js';
import { generateRsaKeyPair } from './keys.js';
import { HOUR_MS } from '../shared/time.js';
import { RateLimiter } from './rate-limit.js';
import type { Scenario } from './scenario.js';
import { createEmulatorServer } from './server.js';
import { EmulatorStore } from './state.js';
import type { CallRecord, EmulatorState } from './state.js';
import type { MeteringRecord } from './metering/records.js';
import { TokenMinter } from './metering/tokens.js';
import { REGISTER_USAGE_INPUT } from './metering/shapes.js';
import { LicenseControl, seededLicenses, type ControlResult } from './license-manager/control.js';
import type { ConsumptionView } from './license-manager/consumptions.js';
import type { LicenseView } from './license-manager/licenses.js';
import type { LicenseSeed, LicenseStatus } from './license-manager/seeds.js';
import { LicenseIssuer } from './license-manager/signed-token.js';
import type { IssuedLicenseToken, LicenseTokenRequest } from './license-manager/license-tokens.js';
import { AnywhereControl } from './sts/control.js';
import { roleProblems, roleView, type RoleSpec, type RoleView } from './sts/roles.js';

export { AUTHORIZATION_ERRORS, BAD_TOKENS, DEFAULT_SCENARIO, LICENSE_MANAGER_OPERATIONS, METERING_OPERATIONS, MODES, OPERATIONS } from './scenario.js';
export type { AuthorizationError, BadToken, LicenseManagerOperation, MeteringOperation, Mode, OperationName, RateLimit, Scenario } from './scenario.js';
export type { CallRecord, Counts, EmulatorState } from './state.js';
export type { IssuedRegistrationToken, RegistrationTokenRequest, SubscribedCustomer } from './metering/customers.js';
export type { MeteringRecord, RecordedAllocation, RecordsView } from './metering/records.js';
export { LICENSE_STATUSES, MARKETPLACE_ISSUER } from './license-manager/seeds.js';
export type { LicenseEntitlementSeed, LicenseSeed, LicenseStatus } from './license-manager/seeds.js';
export type { EntitlementView, LicenseView } from './license-manager/licenses.js';
export type { ConsumptionView, TakenEntitlement } from './license-manager/consumptions.js';
export { ENTITLEMENT_UNITS } from './license-manager/shapes.js';
export type { EntitlementUnit } from './license-manager/shapes.js';
export type { IssuedLicenseToken, LicenseTokenRequest } from './license-manager/license-tokens.js';
export type { RoleSpec, RoleView } from './sts/roles.js';
export { STS_OPERATIONS } from './scenario.js';
export type { StsOperation } from './scenario.js';

export interface EmulatorCredential {
  accessKeyId: string;
  secretAccessKey: string;
  accountId: string;
}

export interface EmulatorOptions {
  /** Address to listen on (default 127.0.0.1). Anything but loopback is warned about: the admin surface has no authentication. */
  host?: string;
  port?: number;
  region: string;
  credentials?: EmulatorCredential[];
  productCodes?: string[];
  publicKeyVersions?: number[];
  keyBits?: number;
  publicKeyOut?: string;
  scenario?: Partial<Scenario>;
  now?: () => Date;
  logger?: Logger;
  /** MeterUsage/BatchMeterUsage dimensions that exist; empty or unset = any well-formed one. */
  dimensions?: string[];
  /** How many hours back a MeterUsage Timestamp may be (default 6, AWS's current docs; older ones say 1). */
  meterUsageLookBackHours?: number;
  /** How many hours back a BatchMeterUsage Timestamp may be (default 24, AWS's newest docs). */
  batchMeterUsageLookBackHours?: number;
  /** SaaS customers subscribed for BatchMeterUsage (issuing a registration token adds more). */
  customers?: SubscribedCustomer[];
  /**
   * Host names (or addresses) clients may put in the Host header besides loopback addresses and
   * `localhost`, e.g. a compose service name. Any other name is refused (DNS rebinding).
   */
  allowedHosts?: string[];
  /** License Manager's licenses at start, per account (the caller's account is its credential's). */
  licenses?: LicenseSeed[];
  licenseManager?: LicenseManagerOptions;
  /** IAM roles AssumeRoleWithWebIdentity may assume (putRole adds more). */
  roles?: RoleSpec[];
  sts?: StsOptions;
}

export interface StsOptions {
  /** How long AssumeRoleWithWebIdentity's credentials live when the call asks for no DurationSeconds (default 3600, STS's). */
  credentialsTtlSeconds?: number;
}

export interface LicenseManagerOptions {
  /** How long a PROVISIONAL checkout holds its units unless extended or checked in (default 3600, AWS Marketplace's 60 minutes). */
  consumptionTtlSeconds?: number;
  /** RSA key size of the issuer key that signs SignedToken (PS384); default 2048 (KMS's smallest RSA key; AWS says nothing of Marketplace's). */
  signingKeyBits?: number;
  /** How long GetAccessToken's access tokens live (default 3600, AWS's one hour). */
  accessTokenTtlSeconds?: number;
}

export const DEFAULT_METER_USAGE_LOOK_BACK_HOURS = 6;
export const DEFAULT_CONSUMPTION_TTL_SECONDS = 3600;
export const DEFAULT_SIGNING_KEY_BITS = 2048;
export const DEFAULT_ACCESS_TOKEN_TTL_SECONDS = 3600;
export const DEFAULT_STS_CREDENTIALS_TTL_SECONDS = 3600;
/** STS's longest session (a role's MaxSessionDuration at most). */
export const MAX_STS_CREDENTIALS_TTL_SECONDS = 43_200;
/** Far above AWS's 60 minutes; a TTL is for tests to shorten, not to make a checkout last for weeks. */
export const MAX_CONSUMPTION_TTL_SECONDS = 7 * 86_400;
export const DEFAULT_BATCH_METER_USAGE_LOOK_BACK_HOURS = 24;

/** Obviously fake, so nobody mistakes them for real keys; any SigV4 client can sign with them. */
export const DEFAULT_EMULATOR_CREDENTIALS: EmulatorCredential[] = [
  { accessKeyId: 'AKIAEMULATOR00000001', secretAccessKey: 'emulator/secret/access/key/0000000000001', accountId: '111122223333' },
];

export interface Emulator {
  /** Base URL to give the SDK as `endpoint` (or the AWS CLI as `--endpoint-url`). */
  url: string;
  port: number;
  /** The address it is bound to, as the OS reports it (e.g. 127.0.0.1, ::1, 0.0.0.0). */
  address: string;
  publicKeyPem: string;
  setScenario(p: Partial<Scenario>): Scenario;
  scenario(): Scenario;
  state(): EmulatorState;
  /** The most recent calls (up to 1000), oldest first. */
  calls(): CallRecord[];
  /** Every accepted MeterUsage and BatchMeterUsage record, oldest first (tell them apart by `operation`). */
  records(): MeteringRecord[];
  /** Sum of accepted quantities per dimension, both operations together. */
  totals(): Record<string, number>;
  /** A token for ResolveCustomer; the customer is subscribed for BatchMeterUsage from now on. Throws a TypeError on bad input. */
  issueRegistrationToken(request: RegistrationTokenRequest): IssuedRegistrationToken;
  /** SubjectPublicKeyInfo PEM of the key that signs License Manager's SignedToken (PS384). */
  licenseIssuerPublicKeyPem: string;
  /** Creates a license, or replaces it (same licenseArn) as a NEW version: an upgrade or renewal. Throws a TypeError listing every problem. */
  putLicense(seed: LicenseSeed): LicenseView;
  /** Changes the current version's status in place. Throws a TypeError for an unknown license or status. */
  setLicenseStatus(licenseArn: string, status: LicenseStatus): LicenseView;
  /** Every license's current version, with what is in use of each entitlement, oldest license first. */
  licenses(): LicenseView[];
  /** Every checkout since start or reset (checked in and expired ones too: see `active`), oldest first. */
  consumptions(): ConsumptionView[];
  /** A long-lived license token (Containers Anywhere's `license_token`) for GetAccessToken. Throws a TypeError listing every problem. */
  issueLicenseToken(request: LicenseTokenRequest): IssuedLicenseToken;
  /** Revokes a license token: GetAccessToken refuses it, STS refuses its access tokens. Throws a TypeError for a token the emulator did not issue. */
  revokeLicenseToken(licenseToken: string): void;
  /** Creates or replaces a role AssumeRoleWithWebIdentity may assume. Throws a TypeError listing every problem. */
  putRole(role: RoleSpec): RoleView;
  roles(): RoleView[];
  /**
   * Forgets counts, calls, callers, metering records, tokens, checkouts and licenses put since start
   * (seeded licenses come back as seeded), and pending injected faults; the rest of the scenario stays.
   */
  reset(): void;
  close(): Promise<void>;
}

/** Every problem with the options at once, each naming the option. */
function optionProblems(o: EmulatorOptions, credentials: readonly EmulatorCredential[]): string[] {
  const problems: string[] = [];
  if (typeof o.region !== 'string' || !REGION_PATTERN.test(o.region)) {
    problems.push(`region must be an AWS region name such as us-east-1 (there is no default); got ${JSON.stringify(o.region)}`);
  }
  if (o.port !== undefined && !(Number.isSafeInteger(o.port) && o.port >= 0 && o.port <= 65535)) problems.push('port must be an integer from 0 to 65535');
  if (credentials.length === 0) problems.push('credentials must list at least one credential');
  const seen = new Set<string>();
  for (const c of credentials) {
    if (!/^[A-Za-z0-9]{1,128}$/.test(c.accessKeyId)) problems.push(`credentials: accessKeyId ${JSON.stringify(c.accessKeyId)} must be 1-128 letters and digits`);
    if (seen.has(c.accessKeyId)) problems.push(`credentials: accessKeyId ${c.accessKeyId} is listed twice`);
    seen.add(c.accessKeyId);
    if (c.secretAccessKey.length === 0) problems.push(`credentials: secretAccessKey of ${c.accessKeyId} must not be empty`);
    if (!/^\d{12}$/.test(c.accountId)) problems.push(`credentials: accountId of ${c.accessKeyId} must be 12 digits`);
  }
  const pattern = new RegExp(REGISTER_USAGE_INPUT.ProductCode.pattern);
  for (const code of o.productCodes ?? []) {
    if (code.length < 1 || code.length > 255 || !pattern.test(code)) problems.push(`productCodes: ${JSON.stringify(code)} is not a well-formed product code`);
  }
  const versions = o.publicKeyVersions ?? [1];
  if (versions.length === 0 || versions.some((v) => !Number.isSafeInteger(v) || v < 1)) {
    problems.push('publicKeyVersions must be a non-empty list of integers >= 1');
  }
  for (const d of o.dimensions ?? []) {
    if (typeof d !== 'string' || d.length < 1 || d.length > 255) problems.push(`dimensions: ${JSON.stringify(d)} must be 1-255 characters`);
  }
  for (const name of ['meterUsageLookBackHours', 'batchMeterUsageLookBackHours'] as const) {
    const hours = o[name];
    if (hours !== undefined && !(typeof hours === 'number' && Number.isFinite(hours) && hours > 0)) problems.push(`${name} must be a number of hours > 0`);
  }
  if (o.customers !== undefined) problems.push(...customersProblems(o.customers, productCodeSet(o.productCodes)));
  if (o.allowedHosts !== undefined) {
    const parsed = parseAllowedHosts(o.allowedHosts);
    if (!parsed.ok) problems.push(...parsed.problems);
  }
  if (o.licenses !== undefined && !Array.isArray(o.licenses)) problems.push('licenses must be a list of license seeds');
  const lm = o.licenseManager ?? {};
  const ttl = lm.consumptionTtlSeconds;
  if (ttl !== undefined && !(Number.isSafeInteger(ttl) && ttl >= 1 && ttl <= MAX_CONSUMPTION_TTL_SECONDS)) {
    problems.push(`licenseManager.consumptionTtlSeconds must be an integer from 1 to ${MAX_CONSUMPTION_TTL_SECONDS}`);
  }
  const bits = lm.signingKeyBits;
  if (bits !== undefined && !(Number.isSafeInteger(bits) && bits >= 2048 && bits <= 8192)) problems.push('licenseManager.signingKeyBits must be an integer from 2048 to 8192');
  const accessTtl = lm.accessTokenTtlSeconds;
  if (accessTtl !== undefined && !(Number.isSafeInteger(accessTtl) && accessTtl >= 1 && accessTtl <= 86_400)) problems.push('licenseManager.accessTokenTtlSeconds must be an integer from 1 to 86400');
  const stsTtl = o.sts?.credentialsTtlSeconds;
  if (stsTtl !== undefined && !(Number.isSafeInteger(stsTtl) && stsTtl >= 1 && stsTtl <= MAX_STS_CREDENTIALS_TTL_SECONDS)) {
    problems.push(`sts.credentialsTtlSeconds must be an integer from 1 to ${MAX_STS_CREDENTIALS_TTL_SECONDS}`);
  }
  if (o.roles !== undefined) {
    if (!Array.isArray(o.roles)) problems.push('roles must be a list of roles');
    else problems.push(...o.roles.flatMap((r, i) => roleProblems(r, `roles[${i}].`)));
  }
  return problems;
}

/** The value of a control result, or a TypeError saying `what` is wrong and every problem. */
function orThrow<T>(what: string, result: ControlResult<T>): T {
  if (!result.ok) throw new TypeError(`${what}: ${result.problems.join('; ')}`);
  return result.value;
}

/** null = any product code exists. */
function productCodeSet(codes: string[] | undefined): ReadonlySet<string> | null {
  return codes !== undefined && codes.length > 0 ? new Set(codes) : null;
}

function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

export async function startEmulator(o: EmulatorOptions): Promise<Emulator> {
  const credentials = o.credentials ?? DEFAULT_EMULATOR_CREDENTIALS;
  const now = o.now ?? (() => new Date());
  const problems = optionProblems(o, credentials);
  const seeded = Array.isArray(o.licenses) ? seededLicenses(o.licenses, { region: o.region, now: now() }) : seededLicenses([], { region: o.region, now: now() });
  if (!seeded.ok) problems.push(...seeded.problems);
  if (problems.length > 0 || !seeded.ok) throw new TypeError(`invalid emulator options: ${problems.join('; ')}`);
  const store = new EmulatorStore(o.scenario, o.customers, seeded.value, (o.roles ?? []).map(roleView)); // throws on an invalid scenario, before any work
  const logger = (o.logger ?? pino({ enabled: false })).child({ module: 'emulator' });
  const keyBits = o.keyBits ?? 3072;
  // Both at once: key generation runs on libuv's thread pool.
  const [keys, issuerKeys] = await Promise.all([generateRsaKeyPair(keyBits), generateRsaKeyPair(o.licenseManager?.signingKeyBits ?? DEFAULT_SIGNING_KEY_BITS)]);
  const licenseIssuer = new LicenseIssuer(issuerKeys);
  const licenses = new LicenseControl(store, o.region, now);
  const anywhere = new AnywhereControl(store, now);
  // The public key is public: readable by everyone.
  if (o.publicKeyOut !== undefined) await writeFileAtomic(o.publicKeyOut, keys.publicKeyPem, 0o644);

  const limiter = new RateLimiter(now);
  const byKey = new Map(credentials.map((c) => [c.accessKeyId, { ...c }]));
  const closing = new AbortController();
  const reset = (): void => {
    store.reset();
    limiter.reset();
  };
  const productCodes = productCodeSet(o.productCodes);
  const allowed = parseAllowedHosts(o.allowedHosts ?? []);
  // Strict until the OS says where it is bound.
  const hosts = { loopbackOnly: true, allowed: allowed.ok ? allowed.allowed : new Set<string>() };
  const issueRegistrationToken = (request: unknown): IssuedRegistrationToken => {
    const parsed = parseTokenRequest(request, productCodes);
    if (!parsed.ok) throw new TypeError(`invalid registration token request: ${parsed.problems.join('; ')}`);
    return store.customers.issue(parsed.value, now());
  };
  const server = createEmulatorServer({
    logger,
    hosts,
    admin: { store, publicKeyPem: keys.publicKeyPem, reset, productCodes, now, licenses, anywhere, licenseIssuerPublicKeyPem: licenseIssuer.publicKeyPem },
    api: {
      config: {
        region: o.region,
        productCodes,
        publicKeyVersions: new Set(o.publicKeyVersions ?? [1]),
        dimensions: o.dimensions !== undefined && o.dimensions.length > 0 ? new Set(o.dimensions) : null,
        meterUsageLookBackMs: (o.meterUsageLookBackHours ?? DEFAULT_METER_USAGE_LOOK_BACK_HOURS) * HOUR_MS,
        batchMeterUsageLookBackMs: (o.batchMeterUsageLookBackHours ?? DEFAULT_BATCH_METER_USAGE_LOOK_BACK_HOURS) * HOUR_MS,
        consumptionTtlMs: (o.licenseManager?.consumptionTtlSeconds ?? DEFAULT_CONSUMPTION_TTL_SECONDS) * 1000,
        accessTokenTtlMs: (o.licenseManager?.accessTokenTtlSeconds ?? DEFAULT_ACCESS_TOKEN_TTL_SECONDS) * 1000,
        stsCredentialsTtlMs: (o.sts?.credentialsTtlSeconds ?? DEFAULT_STS_CREDENTIALS_TTL_SECONDS) * 1000,
      },
      store,
      limiter,
      minter: new TokenMinter(keys, keyBits),
      licenseIssuer,
      // Configured keys first; then the temporary ones STS handed out.
      lookupCredential: (id) => byKey.get(id) ?? store.sessions.credential(id),
      now,
      logger,
      signal: closing.signal,
    },
  });

  const host = o.host ?? '127.0.0.1';
  const { port, address } = await listen(server, { host, port: o.port ?? 0 });
  // Judged on the bound address, so every spelling of the listen host (127.1, localhost, [::ffff:127.0.0.1]) counts as what it is.
  hosts.loopbackOnly = isLoopbackIp(address);
  if (!hosts.loopbackOnly) {
    logger.warn(
      { address, port },
      'emulator listening on a non-loopback address: anyone who can reach it can change its scenario and read its calls (the admin endpoints have no authentication); it is meant for tests, on 127.0.0.1',
    );
  }

  let closed: Promise<void> | undefined;
  return {
    url: `http://${urlHost(host)}:${port}`,
    port,
    address,
    publicKeyPem: keys.publicKeyPem,
    setScenario: (p) => store.setScenario(p),
    scenario: () => store.scenario(),
    state: () => store.state(),
    calls: () => store.recentCalls(),
    records: () => store.records.view().records,
    totals: () => store.records.view().totals,
    issueRegistrationToken,
    licenseIssuerPublicKeyPem: licenseIssuer.publicKeyPem,
    putLicense: (seed) => orThrow('invalid license seed', licenses.put(seed)),
    setLicenseStatus: (licenseArn, status) => orThrow('setLicenseStatus', licenses.setStatus(licenseArn, status)),
    licenses: () => licenses.licenses(),
    consumptions: () => licenses.consumptions(),
    issueLicenseToken: (request) => orThrow('invalid license token request', anywhere.issueLicenseToken(request)),
    revokeLicenseToken: (licenseToken) => {
      orThrow('revokeLicenseToken', anywhere.revokeLicenseToken(licenseToken));
    },
    putRole: (role) => orThrow('invalid role', anywhere.putRole(role)),
    roles: () => anywhere.roles(),
    reset,
    close: () => {
      closing.abort(); // ends pending latency waits
      return (closed ??= closeServer(server));
    },
  };
}
