import { MarketplaceMeteringClient } from '@aws-sdk/client-marketplace-metering';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { denialPathFor } from '../../../src/sidecar/denial.js';
import type { Emulator, Scenario } from '../../../src/emulator/index.js';
import type { Snapshot } from '../../../src/sidecar/state.js';
import { verifyEntitlementFile } from '../../../src/entitlement/verify-file.js';
import { emulator, meteringClient, REGION } from '../../helpers/emulator.js';
import { faultServer } from '../../helpers/fault-server.js';
import { pinnedClock } from '../../helpers/clock.js';
import { startTestSidecar } from '../../helpers/sidecar.js';
import { tempDir } from '../../helpers/tmp.js';

const PRODUCT = 'prod-abc123';

/** The one clock of these tests: the emulator's, the SDK's signing and the sidecar's, pinned to a quiet instant. */
const clock = pinnedClock();

/** Runs the sidecar in-process against a fresh emulator (the one harness, helpers/sidecar.ts) until it decides. */
async function runAgainst(
  scenario: Partial<Scenario>,
  opts: {
    dir?: string;
    env?: Record<string, string>;
    /** The Metering client; default the SDK client on the emulator, signing on the test clock. */
    client?: (emu: Emulator) => MarketplaceMeteringClient;
    deadline?: string;
    /** Sees every status change, as the pod Event reporter does. */
    observer?: (s: Snapshot) => void;
  } = {},
) {
  const emu = await emulator(scenario, { now: clock.date });
  const t = await startTestSidecar(emu, {
    ...(opts.dir === undefined ? {} : { dir: opts.dir }),
    ...(opts.env === undefined ? {} : { env: opts.env }),
    client: () => opts.client?.(emu) ?? meteringClient(emu, { now: clock.date }),
    now: clock.now,
    settings: { MARKETPLACE_PRODUCT_CODE: PRODUCT, ENTITLEMENT_REGISTER_DEADLINE: opts.deadline ?? '30s' },
    ...(opts.observer === undefined ? {} : { observers: [opts.observer] }),
  });
  return { snapshot: t.snapshot, healthz: await t.healthz(), metrics: await t.metrics(), logs: t.logs, file: t.file, stop: t.stop, emu };
}

function metric(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`) && l.includes(name));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('the sidecar against the emulator', () => {
  it('writes a verified entitlement file and reports entitled on /healthz and /metrics', async () => {
    const r = await runAgainst({});
    expect(r.snapshot).toMatchObject({ status: 'entitled', code: 'ENTITLED' });
    expect(r.healthz.status).toBe(200);
    expect(r.healthz.body).toMatchObject({ status: 'entitled', code: 'ENTITLED', entitlement: { productCode: PRODUCT, publicKeyVersion: 1, entitlementFile: r.file } });
    const record = JSON.parse(readFileSync(r.file, 'utf8')) as Record<string, unknown>;
    expect(Object.keys(record).sort()).toEqual(['issuedAt', 'nonce', 'productCode', 'publicKeyRotationTimestamp', 'publicKeyVersion', 'signature', 'source', 'verifiedAt']);
    expect(record).toMatchObject({ source: 'register-usage', productCode: PRODUCT, publicKeyVersion: 1, publicKeyRotationTimestamp: null });
    // The nonce in the file is the one the sidecar sent: the emulator saw it.
    expect(r.emu.calls().map((c) => c.nonce)).toEqual([record.nonce]);
    await expect(verifyEntitlementFile(r.file, { publicKey: r.emu.publicKeyPem, productCode: PRODUCT, now: clock.date() })).resolves.toMatchObject({ productCode: PRODUCT });
    expect(metric(r.metrics, 'marketplace_entitlement_entitled')).toBe(1);
    expect(r.metrics).toContain('marketplace_entitlement_register_attempts_total{outcome="ENTITLED"} 1');
    expect(r.metrics).toContain('marketplace_entitlement_status{status="entitled"} 1');
    // Outside a cluster the Kubernetes reporter is off, but its series are there and say so.
    expect(r.metrics).toContain('marketplace_entitlement_kubernetes_api_requests_total{operation="event"} 0');
    expect(r.logs.lines.some((l) => l.module === 'k8s' && l.kubernetesStatus === 'off' && l.msg.includes('not running in a Kubernetes cluster'))).toBe(true);
    // Verified on the sidecar's clock: the time in the file, in /healthz and in the metric are one.
    expect(metric(r.metrics, 'marketplace_entitlement_verified_timestamp_seconds')).toBe(Date.parse(String(record.verifiedAt)) / 1000);
    expect(Math.abs(Date.parse(String(record.verifiedAt)) - clock.now())).toBeLessThan(60_000);
    expect(r.logs.lines.some((l) => l.msg === 'entitled' && l.code === 'ENTITLED' && typeof l.action === 'string')).toBe(true);
    // The signed token is in the file for the app, never in the logs.
    expect(r.logs.text()).not.toContain(String(record.signature).split('.')[2]);
    expect(await r.stop()).toMatchObject({ status: 'entitled' });
  });

  it.each([
    ['not-entitled', 'not_entitled', 'CUSTOMER_NOT_ENTITLED', 'CustomerNotEntitledException', true],
    ['platform-not-supported', 'platform_not_supported', 'PLATFORM_NOT_SUPPORTED', 'PlatformNotSupportedException', true],
    ['invalid-product-code', 'misconfigured', 'INVALID_PRODUCT_CODE', 'InvalidProductCodeException', false],
    ['invalid-public-key-version', 'misconfigured', 'INVALID_PUBLIC_KEY_VERSION', 'InvalidPublicKeyVersionException', false],
    ['invalid-region', 'misconfigured', 'INVALID_REGION', 'InvalidRegionException', false],
    ['disabled-api', 'failed', 'API_DISABLED', 'DisabledApiException', false],
  ] as const)('maps %s to %s / %s', async (mode, status, code, awsError, sticky) => {
    const r = await runAgainst({ mode });
    expect(r.snapshot).toMatchObject({ status, code, awsError });
    expect(r.healthz.status).toBe(503);
    expect(r.healthz.body).toMatchObject({ status, code, awsError });
    expect(r.healthz.body.action.length).toBeGreaterThan(20);
    expect(r.metrics).toContain(`marketplace_entitlement_register_attempts_total{outcome="${code}"} 1`);
    expect(metric(r.metrics, 'marketplace_entitlement_entitled')).toBe(0);
    expect(r.logs.lines.some((l) => l.level === 'error' && l.code === code && l.msg.includes(awsError))).toBe(true);
    expect(existsSync(r.file)).toBe(false);
    expect(existsSync(denialPathFor(r.file))).toBe(sticky);
    // Terminal: exactly one call, no retries.
    expect(r.emu.state().totalCalls).toBe(1);
    await r.stop();
  });

  it('remembers a denial: a restarted sidecar in the same pod makes no call and gives the same answer', async () => {
    const dir = tempDir();
    const first = await runAgainst({ mode: 'not-entitled' }, { dir });
    await first.stop();
    const again = await runAgainst({ mode: 'entitled' }, { dir });
    expect(again.snapshot).toMatchObject({ status: 'not_entitled', code: 'CUSTOMER_NOT_ENTITLED', sticky: true, awsError: 'CustomerNotEntitledException' });
    expect(again.healthz.status).toBe(503);
    expect(again.emu.state().totalCalls).toBe(0);
    expect(existsSync(join(dir, 'entitlement.json'))).toBe(false);
    await again.stop();
  });

  it('retries throttling and server errors, then succeeds', async () => {
    const r = await runAgainst({ throttle: 2, internalError: 2 });
    expect(r.snapshot.code).toBe('ENTITLED');
    expect(r.metrics).toContain('marketplace_entitlement_register_attempts_total{outcome="THROTTLED"} 2');
    expect(r.metrics).toContain('marketplace_entitlement_register_attempts_total{outcome="SERVICE_UNAVAILABLE"} 2');
    expect(r.emu.state().totalCalls).toBe(5);
    expect(r.logs.lines.filter((l) => l.msg === 'RegisterUsage failed transiently; retrying')).toHaveLength(4);
    await r.stop();
  });

  it('gives up with DEADLINE_EXCEEDED when throttling outlasts the deadline', async () => {
    const r = await runAgainst({ throttle: 1_000_000 }, { deadline: '1s' });
    expect(r.snapshot).toMatchObject({ status: 'failed', code: 'DEADLINE_EXCEEDED', awsError: 'ThrottlingException' });
    expect(r.emu.state().totalCalls).toBeGreaterThan(3);
    await r.stop();
  });

  it('surfaces PublicKeyRotationTimestamp on /healthz, in metrics, in the file and as a warning', async () => {
    const rotation = 1_900_000_000;
    const r = await runAgainst({ rotationTimestamp: rotation });
    expect(r.snapshot.code).toBe('ENTITLED');
    expect(r.healthz.body.publicKeyRotationTimestamp).toBe(new Date(rotation * 1000).toISOString());
    expect(metric(r.metrics, 'marketplace_entitlement_key_rotation_timestamp_seconds')).toBe(rotation);
    expect(JSON.parse(readFileSync(r.file, 'utf8')).publicKeyRotationTimestamp).toBe(new Date(rotation * 1000).toISOString());
    expect(r.logs.lines.some((l) => l.level === 'warn' && l.msg.includes('public key version has expired'))).toBe(true);
    await r.stop();
  });

  it.each([
    ['tampered-signature', 'TOKEN_INVALID', 'signature'],
    ['foreign-key', 'TOKEN_INVALID', 'signature'],
    ['wrong-nonce', 'TOKEN_MISMATCH', 'nonce_mismatch'],
    ['wrong-product-code', 'TOKEN_MISMATCH', 'product_code_mismatch'],
    ['wrong-key-version', 'TOKEN_MISMATCH', 'public_key_version_mismatch'],
    ['alg-none', 'TOKEN_INVALID', 'algorithm'],
    ['rs256', 'TOKEN_INVALID', 'algorithm'],
    ['hs256-public-key', 'TOKEN_INVALID', 'algorithm'],
    ['future-iat', 'TOKEN_INVALID', 'issued_in_future'],
    ['missing-claims', 'TOKEN_INVALID', 'claims_missing'],
  ] as const)('rejects a %s token as not entitled (%s, %s) and writes no file', async (badToken, code, reason) => {
    const r = await runAgainst({ badToken });
    expect(r.snapshot).toMatchObject({ status: 'not_entitled', code });
    expect(r.snapshot.message).toContain(`(${reason})`);
    expect(r.healthz.status).toBe(503);
    expect(existsSync(r.file)).toBe(false);
    expect(existsSync(denialPathFor(r.file))).toBe(false);
    await r.stop();
  });

  it('accepts a PascalCase-claims token, as in the API reference example', async () => {
    const r = await runAgainst({ badToken: 'pascal-case-claims' });
    expect(r.snapshot.code).toBe('ENTITLED');
    await r.stop();
  });

  it.each([
    ['an unknown access key', { accessKeyId: 'AKIAUNKNOWN000000000' }, 'UnrecognizedClientException'],
    ['a wrong secret', { secretAccessKey: 'wrong' }, 'InvalidSignatureException'],
  ])('reports rejected credentials (%s) as misconfigured', async (_name, creds, awsError) => {
    const r = await runAgainst({}, { client: (emu) => meteringClient(emu, { ...creds, now: clock.date }) });
    expect(r.snapshot).toMatchObject({ status: 'misconfigured', code: 'CREDENTIALS_REJECTED', awsError });
    await r.stop();
  });

  it('reports a region it cannot find as misconfigured without calling AWS', async () => {
    const emuDir = tempDir();
    const r = await runAgainst({}, { dir: emuDir, env: { AWS_REGION: '', AWS_EC2_METADATA_DISABLED: 'true' } });
    expect(r.snapshot).toMatchObject({ status: 'misconfigured', code: 'REGION_UNRESOLVED' });
    expect(r.emu.state().totalCalls).toBe(0);
    await r.stop();
  });

  it('warns when the credentials come from a source AWS does not support for RegisterUsage', async () => {
    const r = await runAgainst({}, { env: { AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://127.0.0.1:9/creds', AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: '/t', HOME: tempDir() } });
    expect(r.logs.lines.some((l) => l.level === 'warn' && l.credentialSource === 'eks-pod-identity' && l.msg.includes('NOT supported'))).toBe(true);
    await r.stop();
  });
});

/** A loopback proxy in front of the emulator that rewrites answers, as a tampering or broken middlebox would. */
async function rewritingProxy(target: string, rewrite: (body: string) => string): Promise<string> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const upstream = httpRequest(`${target}${req.url ?? '/'}`, { method: req.method, headers: req.headers }, (answer) => {
        const parts: Buffer[] = [];
        answer.on('data', (c: Buffer) => parts.push(c));
        answer.on('end', () => {
          const body = rewrite(Buffer.concat(parts).toString('utf8'));
          res.writeHead(answer.statusCode ?? 502, { ...answer.headers, 'content-length': Buffer.byteLength(body) }).end(body);
        });
      });
      upstream.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  afterEach(() => new Promise<void>((r) => server.close(() => r())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const SESSION_TOKEN = `IQoJb3JpZ2luX2VjE${'Zm9vYmFy'.repeat(40)}`;
/** What AWS answers to a wrong secret: the canonical request it computed, the caller's session token in it. */
const LEAKY_MESSAGE =
  'The request signature we calculated does not match the signature you provided.\n\nThe Canonical String for this request should have been\n' +
  `'POST\n/\n\nhost:metering.marketplace.us-east-1.amazonaws.com\nx-amz-security-token:${SESSION_TOKEN}\n'\n\nThe String-to-Sign should have been\n'AWS4-HMAC-SHA256\n...'`;

describe('the sidecar under hostile conditions', () => {
  it('keeps the session token out of /healthz, the logs and every status change when AWS quotes it back (wrong secret)', async () => {
    const seen: Snapshot[] = [];
    const r = await runAgainst(
      {},
      { client: (emu) => meteringClient(emu, { secretAccessKey: 'wrong', sessionToken: SESSION_TOKEN, now: clock.date }), observer: (s) => seen.push(s) },
    );
    expect(r.snapshot).toMatchObject({ status: 'misconfigured', code: 'CREDENTIALS_REJECTED', awsError: 'InvalidSignatureException' });
    // The emulator, like AWS, did put the token in its message: the scrubbing is what keeps it out.
    expect(r.emu.calls().at(-1)?.outcome).toBe('InvalidSignatureException');
    expect(r.snapshot.message).toContain('does not match the signature');
    for (const text of [JSON.stringify(r.healthz.body), r.logs.text(), JSON.stringify(seen), r.metrics]) {
      expect(text).not.toContain(SESSION_TOKEN.slice(0, 40));
      expect(text).not.toContain('x-amz-security-token:');
    }
    await r.stop();
  });

  it.each(
    [
      'CustomerNotEntitledException', 'PlatformNotSupportedException', 'InvalidProductCodeException', 'InvalidPublicKeyVersionException',
      'InvalidRegionException', 'DisabledApiException', 'AccessDeniedException', 'UnrecognizedClientException', 'InvalidSignatureException',
      'ExpiredTokenException', 'ValidationException', 'SomethingNewException', 'ThrottlingException', 'InternalServiceErrorException',
    ].map((type) => [type, type === 'InternalServiceErrorException' ? 500 : 400] as const),
  )('scrubs a credential out of a %s message on every path it takes', async (type, status) => {
    const server = await faultServer([], { kind: 'error', status, type, message: LEAKY_MESSAGE });
    const seen: Snapshot[] = [];
    const r = await runAgainst({}, { client: () => faultClient(server.url), deadline: '1s', observer: (s) => seen.push(s) });
    expect(r.snapshot.status).not.toBe('entitled');
    expect(r.snapshot.awsError).toBe(type);
    for (const text of [JSON.stringify(r.healthz.body), r.logs.text(), JSON.stringify(seen)]) {
      expect(text).not.toContain(SESSION_TOKEN.slice(0, 40));
      expect(text).not.toContain('x-amz-security-token');
    }
    await r.stop();
  });

  it('does not let an error code AWS (or a proxy) sends become free text in /healthz', async () => {
    const server = await faultServer([], { kind: 'error', status: 400, type: `Evil ${SESSION_TOKEN}`, message: 'x' });
    const r = await runAgainst({}, { client: () => faultClient(server.url) });
    expect(r.snapshot).toMatchObject({ code: 'UNEXPECTED_ERROR', awsError: 'UnknownError' });
    expect(JSON.stringify(r.healthz.body)).not.toContain(SESSION_TOKEN.slice(0, 40));
    await r.stop();
  });

  it.each([
    ['1e20', '1e20'],
    ['-1e13', '-1e13'],
  ])('makes a PublicKeyRotationTimestamp of %s an outcome with a reason, not a crash', async (_name, value) => {
    const emu = await emulator({ rotationTimestamp: 1_900_000_000, rateLimit: null }, { now: clock.date });
    const proxy = await rewritingProxy(emu.url, (body) => body.replace('1900000000', value));
    const r = await runAgainst({}, { client: () => meteringClient({ ...emu, url: proxy }, { now: clock.date }), deadline: '1s' });
    expect(r.snapshot).toMatchObject({ status: 'failed', code: 'DEADLINE_EXCEEDED', awsError: 'MalformedResponse' });
    expect(r.snapshot.message).toContain('PublicKeyRotationTimestamp that is not a representable time');
    expect(existsSync(r.file)).toBe(false);
    await r.stop();
  });

  it.each([
    ['a FIFO', (path: string) => execFileSync('mkfifo', [path]), 'is a FIFO, not a regular file'],
    ['a directory', (path: string) => mkdirSync(path), 'is a directory, not a regular file'],
    ['a link to /dev/zero', (path: string) => symlinkSync('/dev/zero', path), 'is a symbolic link; it is not followed'],
    ['a huge file', (path: string) => writeFileSync(path, 'x'.repeat(1 << 20)), 'is larger than 16384 bytes'],
    ['garbage', (path: string) => writeFileSync(path, 'not json'), 'is not JSON'],
    ['a record with a code that is no denial', (path: string) => writeFileSync(path, JSON.stringify({ code: 'ENTITLED', productCode: PRODUCT, message: '', deniedAt: '' })), 'is not a well-formed denial record'],
  ])('fails closed, at once and without calling AWS, when the denial path holds %s', async (_name, plant, why) => {
    const dir = tempDir();
    plant(denialPathFor(join(dir, 'entitlement.json')));
    const r = await runAgainst({}, { dir });
    expect(r.snapshot).toMatchObject({ status: 'failed', code: 'DENIAL_RECORD_UNREADABLE' });
    expect(r.snapshot.message).toContain(why);
    expect(r.emu.state().totalCalls).toBe(0);
    // SIGTERM still stops it (a FIFO used to leave it REGISTERING forever).
    expect(await r.stop()).toMatchObject({ code: 'DENIAL_RECORD_UNREADABLE' });
  });

  it("does not honour another product's denial record, nor show its text as this product's reason", async () => {
    const dir = tempDir();
    const path = denialPathFor(join(dir, 'entitlement.json'));
    writeFileSync(path, JSON.stringify({ code: 'CUSTOMER_NOT_ENTITLED', status: 'not_entitled', productCode: 'prod-other', message: 'CALL THE HELPDESK AT 555-0100', deniedAt: '2026-01-01T00:00:00.000Z' }));
    const r = await runAgainst({}, { dir });
    expect(r.snapshot).toMatchObject({ status: 'entitled', code: 'ENTITLED' });
    expect(r.emu.state().totalCalls).toBe(1);
    expect(r.logs.lines.some((l) => l.level === 'warn' && l.recordedFor === 'prod-other')).toBe(true);
    expect(r.logs.text()).not.toContain('555-0100');
    expect(JSON.stringify(r.healthz.body)).not.toContain('555-0100');
    await r.stop();
  });
});

function faultClient(url: string): MarketplaceMeteringClient {
  return new MarketplaceMeteringClient({ endpoint: url, region: REGION, maxAttempts: 1, credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' } });
}
