/**
 * Shared test plumbing: an emulator with a quick 2048-bit key on an injected clock, the real SDK
 * client pointed at it and signing on the same clock, raw HTTP with a real SigV4 signature
 * (@smithy/signature-v4, the SDK's own signer), and asynchronous child processes for AWS's CLI and boto3.
 *
 * No emulator test depends on the wall clock: every emulator runs on a clock the test owns, pinned to
 * a chosen instant (QUIET unless the test says otherwise), and SDK clients sign with that clock's time
 * through the SDK's own `systemClockOffset`. The exceptions run on the machine's time because their
 * peer does: emulators that the AWS CLI and boto3 (separate processes) talk to, on `realClock()`, with
 * test data taken from that clock and chosen so no calendar rule applies; and the emulator command,
 * which has no other clock and is only asked time-free things (RegisterUsage, the admin surface).
 */
import { createHash, createHmac } from 'node:crypto';
import type { Hash, Hmac } from 'node:crypto';
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { BatchMeterUsageCommand, MarketplaceMeteringClient, MeterUsageCommand, RegisterUsageCommand } from '@aws-sdk/client-marketplace-metering';
import type {
  BatchMeterUsageCommandOutput,
  MeterUsageCommandInput,
  MeterUsageCommandOutput,
  RegisterUsageCommandInput,
  RegisterUsageCommandOutput,
  UsageRecord,
} from '@aws-sdk/client-marketplace-metering';
import { SignatureV4 } from '@smithy/signature-v4';
import { DEFAULT_EMULATOR_CREDENTIALS, startEmulator } from '../../src/emulator/index.js';
import type { Emulator, EmulatorCredential, EmulatorOptions } from '../../src/emulator/index.js';
import { signOnClock } from './clock.js';

// The SDK warns on Node 20 (still supported by this project); keep test output clean.
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] = 'true';

export const REGION = 'us-east-1';
export const PRODUCT = 'prod-emulatortest0001';
export const CRED = DEFAULT_EMULATOR_CREDENTIALS[0] as EmulatorCredential;

/** What an emulator is told the time is. */
export interface Clock {
  now(): Date;
}

/** A clock the test moves by hand; it never follows real time. */
export interface ManualClock extends Clock {
  advance(ms: number): void;
  set(instant: number | string): void;
}

export function manualClock(start: number | string): ManualClock {
  let t = new Date(start).getTime();
  if (Number.isNaN(t)) throw new TypeError(`manualClock: not an instant: ${String(start)}`);
  return {
    now: () => new Date(t),
    advance: (ms) => (t += ms),
    set: (instant) => (t = new Date(instant).getTime()),
  };
}

/** The machine's clock, for emulators that real AWS clients in other processes (CLI, boto3) sign against. */
export function realClock(): Clock {
  return { now: () => new Date() };
}

/** Mid-month, mid-day, a quarter past the hour: far from every calendar rule. Tests of a rule pin their own instants. */
export const QUIET = '2027-06-15T12:15:00.000Z';

/**
 * Where the time-sensitive suites run besides QUIET: the instant the billing month closes on the 1st
 * (the day a newcomer's run failed), the last second of an hour, a day and a year, and the first
 * second of a leap day.
 */
export const EDGE_INSTANTS = ['2026-12-01T06:00:00.000Z', '2027-12-31T23:59:59.000Z', '2028-02-29T00:00:00.000Z'] as const;

export type TestEmulator = Emulator & { readonly clock: Clock };

/** An emulator on `clock` (default: a manual clock at QUIET). Pass `clock`, never `now`. */
export async function startTestEmulator(o: Partial<Omit<EmulatorOptions, 'now'>> & { clock?: Clock } = {}): Promise<TestEmulator> {
  const { clock = manualClock(QUIET), ...options } = o;
  const licenseManager = { signingKeyBits: 2048, ...options.licenseManager };
  const emulator = await startEmulator({ region: REGION, keyBits: 2048, ...options, licenseManager, now: () => clock.now() });
  return Object.assign(emulator, { clock });
}

export interface ClientOptions {
  region?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
  requestTimeout?: number;
  /** Sign with this clock's time instead of the emulator's (e.g. a client whose clock is off). */
  clock?: Clock;
}

const clocks = new WeakMap<MarketplaceMeteringClient, Clock>();

/** The clock a client from meteringClient signs with (the default Timestamp of meter()). */
export function clockOf(client: MarketplaceMeteringClient): Clock {
  const clock = clocks.get(client);
  if (clock === undefined) throw new Error('not a client from meteringClient()');
  return clock;
}

/**
 * The real SDK client, over real HTTP, signing with the emulator's clock (or `o.clock`): before every
 * request it sets the SDK's own `systemClockOffset` (signing time = Date.now() + offset), so the client
 * follows the clock however the test moves it.
 */
export function meteringClient(emulator: { url: string; clock?: Clock }, o: ClientOptions = {}): MarketplaceMeteringClient {
  const clock = o.clock ?? emulator.clock;
  if (clock === undefined) throw new Error('meteringClient: the emulator has no clock; pass o.clock');
  const client = new MarketplaceMeteringClient({
    endpoint: emulator.url,
    region: o.region ?? REGION,
    maxAttempts: 1,
    credentials: {
      accessKeyId: o.accessKeyId ?? CRED.accessKeyId,
      secretAccessKey: o.secretAccessKey ?? CRED.secretAccessKey,
      ...(o.sessionToken !== undefined ? { sessionToken: o.sessionToken } : {}),
    },
    ...(o.requestTimeout !== undefined ? { requestHandler: { requestTimeout: o.requestTimeout, throwOnRequestTimeout: true } } : {}),
  });
  signOnClock(client, () => clock.now());
  clocks.set(client, clock);
  return client;
}

export function register(
  client: MarketplaceMeteringClient,
  input: Partial<RegisterUsageCommandInput> = {},
): Promise<RegisterUsageCommandOutput> {
  return client.send(new RegisterUsageCommand({ ProductCode: PRODUCT, PublicKeyVersion: 1, Nonce: 'nonce-0001', ...input }));
}

export const DIMENSION = 'gb_scanned';

/** MeterUsage; the Timestamp defaults to the client's clock. */
export function meter(client: MarketplaceMeteringClient, input: Partial<MeterUsageCommandInput> = {}): Promise<MeterUsageCommandOutput> {
  return client.send(new MeterUsageCommand({ ProductCode: PRODUCT, Timestamp: clockOf(client).now(), UsageDimension: DIMENSION, UsageQuantity: 1, ...input }));
}

/** BatchMeterUsage; `productCode` null leaves the request's ProductCode out (license-based records). Timestamps default to the client's clock. */
export function batch(client: MarketplaceMeteringClient, records: Partial<UsageRecord>[], productCode: string | null = PRODUCT): Promise<BatchMeterUsageCommandOutput> {
  const UsageRecords = records.map((r) => ({ Timestamp: clockOf(client).now(), Dimension: DIMENSION, Quantity: 1, ...r }) as UsageRecord);
  return client.send(new BatchMeterUsageCommand({ UsageRecords, ...(productCode === null ? {} : { ProductCode: productCode }) }));
}

/** The rejection of a promise that must reject (fails the test if it resolves). */
export async function rejection(p: Promise<unknown>): Promise<Error & { $metadata?: { httpStatusCode?: number } }> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

/** node:crypto behind the hash interface @smithy/signature-v4 expects. */
class NodeSha256 {
  private readonly secret: Buffer | undefined;
  private hash: Hash | Hmac;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.secret =
      secret === undefined ? undefined
      : typeof secret === 'string' ? Buffer.from(secret, 'utf8')
      : ArrayBuffer.isView(secret) ? Buffer.from(secret.buffer, secret.byteOffset, secret.byteLength)
      : Buffer.from(new Uint8Array(secret));
    this.hash = this.make();
  }
  private make(): Hash | Hmac {
    return this.secret === undefined ? createHash('sha256') : createHmac('sha256', this.secret);
  }
  update(data: string | Uint8Array): void {
    this.hash.update(data);
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
  reset(): void {
    this.hash = this.make();
  }
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json(): Record<string, unknown>;
}

/** The header every changing admin request needs (admin.ts). */
export const JSON_TYPE: Readonly<Record<string, string>> = { 'content-type': 'application/json' };

/** One fresh connection per request (agent: false): no pooled socket outlives a closed emulator. An array sends the header once per value. */
export function rawRequest(url: string, o: { method?: string; path?: string; headers?: Record<string, string | string[]>; body?: string }): Promise<RawResponse> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: u.hostname.replace(/^\[(.*)\]$/, '$1'), port: u.port, method: o.method ?? 'POST', path: o.path ?? '/', headers: o.headers ?? {}, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: () => JSON.parse(body) as Record<string, unknown> });
        });
      },
    );
    req.on('error', reject);
    req.end(o.body ?? '');
  });
}

export interface SignedCall {
  body: string;
  target?: string;
  contentType?: string;
  region?: string;
  service?: string;
  credential?: EmulatorCredential;
  sessionToken?: string;
  /** Default: the emulator's clock. */
  signingDate?: Date;
  /** More headers to send and sign (e.g. `x-amz-content-sha256: UNSIGNED-PAYLOAD`, which the signer then uses as the payload hash). */
  headers?: Record<string, string>;
  /** Headers the signer leaves out of SignedHeaders (as a client that signs too little would). */
  unsigned?: string[];
  /** Change the body after signing (to prove the body is covered by the signature). */
  sendBody?: string;
  /** Change headers after signing: a value replaces the signed one, an array sends several, null removes it. */
  sendHeaders?: Record<string, string | string[] | null>;
}

/** A RegisterUsage-shaped request signed by the SDK's own signer, sent as raw HTTP. */
export async function signedRequest(emulator: TestEmulator, c: SignedCall): Promise<RawResponse> {
  const cred = c.credential ?? CRED;
  const signer = new SignatureV4({
    service: c.service ?? 'aws-marketplace',
    region: c.region ?? REGION,
    credentials: { accessKeyId: cred.accessKeyId, secretAccessKey: cred.secretAccessKey, ...(c.sessionToken !== undefined ? { sessionToken: c.sessionToken } : {}) },
    sha256: NodeSha256,
  });
  const signed = await signer.sign(
    {
      method: 'POST',
      protocol: 'http:',
      hostname: '127.0.0.1',
      port: emulator.port,
      path: '/',
      query: {},
      headers: {
        host: `127.0.0.1:${emulator.port}`,
        'content-type': c.contentType ?? 'application/x-amz-json-1.1',
        'x-amz-target': c.target ?? 'AWSMPMeteringService.RegisterUsage',
        ...c.headers,
      },
      body: c.body,
    },
    { signingDate: c.signingDate ?? emulator.clock.now(), ...(c.unsigned !== undefined ? { unsignableHeaders: new Set(c.unsigned) } : {}) },
  );
  const headers: Record<string, string | string[]> = { ...signed.headers };
  for (const [name, value] of Object.entries(c.sendHeaders ?? {})) {
    if (value === null) delete headers[name];
    else headers[name] = value;
  }
  return rawRequest(emulator.url, { headers, body: c.sendBody ?? c.body });
}

export interface ProcessResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Debian's AWS CLI v2 and the Python with its boto3 (overridable for another install). */
export const AWS_CLI = process.env['AWS_CLI'] ?? '/usr/bin/aws';
export const AWS_PYTHON = process.env['AWS_PYTHON'] ?? '/usr/bin/python3';

/**
 * The environment of AWS's own clients against the emulator: only what they need, no profile, no
 * instance metadata, no retries, nothing from the host's ~/.aws (HOME is `home`), and exactly the
 * credentials given.
 */
export function awsClientEnv(home: string, credentials: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    HOME: home,
    LANG: 'C.UTF-8',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_MAX_ATTEMPTS: '1',
    AWS_PAGER: '',
    ...credentials,
  };
}

/** The emulator's default key, as AWS's clients read it from the environment. */
export const CRED_ENV = { AWS_ACCESS_KEY_ID: CRED.accessKeyId, AWS_SECRET_ACCESS_KEY: CRED.secretAccessKey } as const;

/** Runs a child process without blocking the event loop (the emulator answers it from this process). */
export function runProcess(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 25_000): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
