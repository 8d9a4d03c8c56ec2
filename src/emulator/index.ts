/**
 * A local, faithful stand-in for the AWS Marketplace Metering API's RegisterUsage: real HTTP,
 * AWS JSON 1.1, SigV4 checked, PS256 tokens from a key pair made at start, and scenarios to make it
 * answer every way AWS can. Nothing can be tested locally against AWS itself (RegisterUsage only
 * works from ECS/EKS tasks of a subscribed account), which is why this exists.
 */
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import type { Logger } from 'pino';
import { generateRsaKeyPair, writeFileAtomic } from './keys.js';
import { RateLimiter } from './rate-limit.js';
import type { Scenario } from './scenario.js';
import { createEmulatorServer } from './server.js';
import { EmulatorStore } from './state.js';
import type { CallRecord, EmulatorState } from './state.js';
import { TokenMinter } from './tokens.js';
import { REGISTER_USAGE_INPUT } from './validate.js';

export { BAD_TOKENS, DEFAULT_SCENARIO, MODES } from './scenario.js';
export type { BadToken, Mode, RateLimit, Scenario } from './scenario.js';
export type { CallRecord, Counts, EmulatorState } from './state.js';

export interface EmulatorCredential {
  accessKeyId: string;
  secretAccessKey: string;
  accountId: string;
}

export interface EmulatorOptions {
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
}

/** Obviously fake, so nobody mistakes them for real keys; any SigV4 client can sign with them. */
export const DEFAULT_EMULATOR_CREDENTIALS: EmulatorCredential[] = [
  { accessKeyId: 'AKIAEMULATOR00000001', secretAccessKey: 'emulator/secret/access/key/0000000000001', accountId: '111122223333' },
];

export interface Emulator {
  /** Base URL to give the SDK as `endpoint` (or the AWS CLI as `--endpoint-url`). */
  url: string;
  port: number;
  publicKeyPem: string;
  setScenario(p: Partial<Scenario>): Scenario;
  scenario(): Scenario;
  state(): EmulatorState;
  /** The most recent calls (up to 1000), oldest first. */
  calls(): CallRecord[];
  reset(): void;
  close(): Promise<void>;
}

/** Every problem with the options at once, each naming the option. */
function optionProblems(o: EmulatorOptions, credentials: readonly EmulatorCredential[]): string[] {
  const problems: string[] = [];
  if (typeof o.region !== 'string' || !/^[a-z]{2}(-[a-z0-9]+)+-\d+$/.test(o.region)) {
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
  return problems;
}

function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

export async function startEmulator(o: EmulatorOptions): Promise<Emulator> {
  const credentials = o.credentials ?? DEFAULT_EMULATOR_CREDENTIALS;
  const problems = optionProblems(o, credentials);
  if (problems.length > 0) throw new TypeError(`invalid emulator options: ${problems.join('; ')}`);
  const store = new EmulatorStore(o.scenario); // throws on an invalid scenario, before any work
  const now = o.now ?? (() => new Date());
  const logger = (o.logger ?? pino({ enabled: false })).child({ module: 'emulator' });
  const keyBits = o.keyBits ?? 3072;
  const keys = await generateRsaKeyPair(keyBits);
  if (o.publicKeyOut !== undefined) await writeFileAtomic(o.publicKeyOut, keys.publicKeyPem);

  const limiter = new RateLimiter(now);
  const byKey = new Map(credentials.map((c) => [c.accessKeyId, { ...c }]));
  const closing = new AbortController();
  const reset = (): void => {
    store.reset();
    limiter.reset();
  };
  const server = createEmulatorServer({
    logger,
    admin: { store, publicKeyPem: keys.publicKeyPem, reset },
    api: {
      config: {
        region: o.region,
        productCodes: o.productCodes !== undefined && o.productCodes.length > 0 ? new Set(o.productCodes) : null,
        publicKeyVersions: new Set(o.publicKeyVersions ?? [1]),
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
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  let closed: Promise<void> | undefined;
  return {
    url: `http://${urlHost(host)}:${port}`,
    port,
    publicKeyPem: keys.publicKeyPem,
    setScenario: (p) => store.setScenario(p),
    scenario: () => store.scenario(),
    state: () => store.state(),
    calls: () => store.recentCalls(),
    reset,
    close: () =>
      (closed ??= new Promise<void>((resolve, reject) => {
        closing.abort(); // ends pending latency waits
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      })),
  };
}
