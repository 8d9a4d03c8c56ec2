import { MarketplaceMeteringClient } from '@aws-sdk/client-marketplace-metering';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSidecarConfig } from '../src/config.js';
import { denialPathFor } from '../src/entitlement-file.js';
import type { Scenario } from '../src/emulator/index.js';
import { runSidecar } from '../src/sidecar.js';
import type { Snapshot } from '../src/state.js';
import { verifyEntitlementFile } from '../src/entitlement-verifier.js';
import { emulator, meteringClient, REGION } from './helpers/emulator.js';
import { captureLogs } from './helpers/logs.js';
import { tempDir } from './helpers/tmp.js';

const PRODUCT = 'prod-abc123';
const QUICK = { baseDelayMs: 20, maxDelayMs: 100, jitter: 'full' } as const;

interface Run {
  snapshot: Snapshot;
  healthz: { status: number; body: Snapshot };
  metrics: string;
  logs: ReturnType<typeof captureLogs>;
  file: string;
  stop: () => Promise<Snapshot>;
}

/** Runs the sidecar in-process against the emulator through the real SDK, until it decides. */
async function runAgainst(
  scenario: Partial<Scenario>,
  opts: { dir?: string; env?: Record<string, string>; client?: (emuUrl: string) => MarketplaceMeteringClient; deadline?: string } = {},
): Promise<Run & { emu: Awaited<ReturnType<typeof emulator>> }> {
  const emu = await emulator(scenario);
  const dir = opts.dir ?? tempDir();
  const file = join(dir, 'entitlement.json');
  const config = loadSidecarConfig([], {
    MARKETPLACE_PRODUCT_CODE: PRODUCT,
    MARKETPLACE_PUBLIC_KEY: emu.publicKeyPem,
    ENTITLEMENT_FILE: file,
    ENTITLEMENT_LISTEN: '127.0.0.1:0',
    ENTITLEMENT_REGISTER_DEADLINE: opts.deadline ?? '30s',
  });
  const logs = captureLogs();
  const controller = new AbortController();
  let port = 0;
  let decided: (s: Snapshot) => void = () => undefined;
  const decision = new Promise<Snapshot>((resolve) => (decided = resolve));
  const done = runSidecar({
    config,
    env: { AWS_REGION: REGION, ...opts.env },
    logger: logs.logger,
    signal: controller.signal,
    version: '0.0.0-test',
    retryPolicy: { throttled: QUICK, transient: QUICK },
    createClient: () => opts.client?.(emu.url) ?? meteringClient(emu),
    onListening: (a) => (port = a.port),
    onDecided: decided,
  });
  const snapshot = await Promise.race([decision, done]);
  const res = await fetch(`http://127.0.0.1:${port}/healthz`);
  const healthz = { status: res.status, body: (await res.json()) as Snapshot };
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const stop = async () => {
    controller.abort();
    return done;
  };
  return { snapshot, healthz, metrics, logs, file, stop, emu };
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
    expect(Object.keys(record).sort()).toEqual(['issuedAt', 'nonce', 'productCode', 'publicKeyRotationTimestamp', 'publicKeyVersion', 'signature', 'verifiedAt']);
    expect(record).toMatchObject({ productCode: PRODUCT, publicKeyVersion: 1, publicKeyRotationTimestamp: null });
    // The nonce in the file is the one the sidecar sent: the emulator saw it.
    expect(r.emu.calls().map((c) => c.nonce)).toEqual([record.nonce]);
    await expect(verifyEntitlementFile(r.file, { publicKey: r.emu.publicKeyPem, productCode: PRODUCT })).resolves.toMatchObject({ productCode: PRODUCT });
    expect(metric(r.metrics, 'marketplace_entitlement_entitled')).toBe(1);
    expect(r.metrics).toContain('marketplace_entitlement_register_attempts_total{outcome="ENTITLED"} 1');
    expect(r.metrics).toContain('marketplace_entitlement_status{status="entitled"} 1');
    // Outside a cluster the Kubernetes reporter is off, but its series are there and say so.
    expect(r.metrics).toContain('marketplace_entitlement_kubernetes_api_requests_total{operation="event"} 0');
    expect(r.logs.lines.some((l) => l.module === 'k8s' && l.kubernetesStatus === 'off' && l.msg.includes('not running in a Kubernetes cluster'))).toBe(true);
    expect(metric(r.metrics, 'marketplace_entitlement_verified_timestamp_seconds')).toBeGreaterThan(Date.now() / 1000 - 60);
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
    const r = await runAgainst({}, { client: (url) => meteringClient({ url } as never, creds) });
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
