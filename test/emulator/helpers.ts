/**
 * Shared test plumbing: an emulator with a quick 2048-bit key, the real SDK client pointed at it,
 * raw HTTP with a real SigV4 signature (@smithy/signature-v4, the SDK's own signer), and
 * asynchronous child processes for AWS's CLI and boto3.
 */
import { createHash, createHmac } from 'node:crypto';
import type { Hash, Hmac } from 'node:crypto';
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { MarketplaceMeteringClient, MeterUsageCommand, RegisterUsageCommand } from '@aws-sdk/client-marketplace-metering';
import type {
  MeterUsageCommandInput,
  MeterUsageCommandOutput,
  RegisterUsageCommandInput,
  RegisterUsageCommandOutput,
} from '@aws-sdk/client-marketplace-metering';
import { SignatureV4 } from '@smithy/signature-v4';
import { DEFAULT_EMULATOR_CREDENTIALS, startEmulator } from '../../src/emulator/index.js';
import type { Emulator, EmulatorCredential, EmulatorOptions } from '../../src/emulator/index.js';

// The SDK warns on Node 20 (still supported by this project); keep test output clean.
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] = 'true';

export const REGION = 'us-east-1';
export const PRODUCT = 'prod-emulatortest0001';
export const CRED = DEFAULT_EMULATOR_CREDENTIALS[0] as EmulatorCredential;

export function startTestEmulator(o: Partial<EmulatorOptions> = {}): Promise<Emulator> {
  return startEmulator({ region: REGION, keyBits: 2048, ...o });
}

export interface ClientOptions {
  region?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
  requestTimeout?: number;
  /** Sign with this clock's time (the SDK's clock-skew offset), so an emulator on a moved clock accepts the signature. */
  clock?: { now: () => Date };
}

export function meteringClient(emulator: Emulator, o: ClientOptions = {}): MarketplaceMeteringClient {
  return new MarketplaceMeteringClient({
    endpoint: emulator.url,
    region: o.region ?? REGION,
    maxAttempts: 1,
    ...(o.clock !== undefined ? { systemClockOffset: o.clock.now().getTime() - Date.now() } : {}),
    credentials: {
      accessKeyId: o.accessKeyId ?? CRED.accessKeyId,
      secretAccessKey: o.secretAccessKey ?? CRED.secretAccessKey,
      ...(o.sessionToken !== undefined ? { sessionToken: o.sessionToken } : {}),
    },
    ...(o.requestTimeout !== undefined ? { requestHandler: { requestTimeout: o.requestTimeout, throwOnRequestTimeout: true } } : {}),
  });
}

export function register(
  client: MarketplaceMeteringClient,
  input: Partial<RegisterUsageCommandInput> = {},
): Promise<RegisterUsageCommandOutput> {
  return client.send(new RegisterUsageCommand({ ProductCode: PRODUCT, PublicKeyVersion: 1, Nonce: 'nonce-0001', ...input }));
}

export const DIMENSION = 'gb_scanned';

export function meter(client: MarketplaceMeteringClient, input: Partial<MeterUsageCommandInput> = {}): Promise<MeterUsageCommandOutput> {
  return client.send(new MeterUsageCommand({ ProductCode: PRODUCT, Timestamp: new Date(), UsageDimension: DIMENSION, UsageQuantity: 1, ...input }));
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

/** One fresh connection per request (agent: false): no pooled socket outlives a closed emulator. */
export function rawRequest(url: string, o: { method?: string; path?: string; headers?: Record<string, string>; body?: string }): Promise<RawResponse> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: u.hostname, port: u.port, method: o.method ?? 'POST', path: o.path ?? '/', headers: o.headers ?? {}, agent: false },
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
  signingDate?: Date;
  /** Change the body after signing (to prove the body is covered by the signature). */
  sendBody?: string;
}

/** A RegisterUsage-shaped request signed by the SDK's own signer, sent as raw HTTP. */
export async function signedRequest(emulator: Emulator, c: SignedCall): Promise<RawResponse> {
  const cred = c.credential ?? CRED;
  const signer = new SignatureV4({
    service: c.service ?? 'aws-marketplace',
    region: c.region ?? REGION,
    credentials: { accessKeyId: cred.accessKeyId, secretAccessKey: cred.secretAccessKey },
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
      },
      body: c.body,
    },
    c.signingDate !== undefined ? { signingDate: c.signingDate } : {},
  );
  return rawRequest(emulator.url, { headers: signed.headers, body: c.sendBody ?? c.body });
}

export interface ProcessResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

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

/** A clock the test moves by hand. Starts at the real time so SDK signatures (real time) are accepted. */
export function manualClock(start = Date.now()): { now: () => Date; advance(ms: number): void } {
  let t = start;
  return { now: () => new Date(t), advance: (ms) => (t += ms) };
}
