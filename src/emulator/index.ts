/**
 * A local, faithful stand-in for the AWS Marketplace Metering API (RegisterUsage, MeterUsage,
 * BatchMeterUsage, ResolveCustomer): real HTTP, AWS JSON 1.1, SigV4 checked, PS256 tokens from a key
 * pair made at start, metering records kept for tests to assert on, and scenarios to make it answer
 * every way AWS can. Nothing can be tested locally against AWS itself (RegisterUsage and MeterUsage only
 * work from ECS/EKS tasks of a subscribed account), which is why this exists.
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

export { BAD_TOKENS, DEFAULT_SCENARIO, METERING_OPERATIONS, MODES } from './scenario.js';
export type { BadToken, MeteringOperation, Mode, RateLimit, Scenario } from './scenario.js';
export type { CallRecord, Counts, EmulatorState } from './state.js';
export type { IssuedRegistrationToken, RegistrationTokenRequest, SubscribedCustomer } from './metering/customers.js';
export type { MeteringRecord, RecordedAllocation, RecordsView } from './metering/records.js';

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
}

export const DEFAULT_METER_USAGE_LOOK_BACK_HOURS = 6;
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
  return problems;
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
  const problems = optionProblems(o, credentials);
  if (problems.length > 0) throw new TypeError(`invalid emulator options: ${problems.join('; ')}`);
  const store = new EmulatorStore(o.scenario, o.customers); // throws on an invalid scenario, before any work
  const now = o.now ?? (() => new Date());
  const logger = (o.logger ?? pino({ enabled: false })).child({ module: 'emulator' });
  const keyBits = o.keyBits ?? 3072;
  const keys = await generateRsaKeyPair(keyBits);
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
    admin: { store, publicKeyPem: keys.publicKeyPem, reset, productCodes, now },
    api: {
      config: {
        region: o.region,
        productCodes,
        publicKeyVersions: new Set(o.publicKeyVersions ?? [1]),
        dimensions: o.dimensions !== undefined && o.dimensions.length > 0 ? new Set(o.dimensions) : null,
        meterUsageLookBackMs: (o.meterUsageLookBackHours ?? DEFAULT_METER_USAGE_LOOK_BACK_HOURS) * HOUR_MS,
        batchMeterUsageLookBackMs: (o.batchMeterUsageLookBackHours ?? DEFAULT_BATCH_METER_USAGE_LOOK_BACK_HOURS) * HOUR_MS,
      },
      store,
      limiter,
      minter: new TokenMinter(keys, keyBits),
      lookupCredential: (id) => byKey.get(id),
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
    reset,
    close: () => {
      closing.abort(); // ends pending latency waits
      return (closed ??= closeServer(server));
    },
  };
}
