import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { decodeJwt, decodeProtectedHeader, importSPKI, jwtVerify } from 'jose';
import { DEFAULT_EMULATOR_CREDENTIALS } from '../../../src/emulator/index.js';
import { manualClock, meteringClient, PRODUCT, QUIET, register, rejection, REGION, startTestEmulator } from '../../helpers/emulator-requests.js';
import type { TestEmulator } from '../../helpers/emulator-requests.js';

describe('RegisterUsage through the AWS SDK v3', () => {
  let emulator: TestEmulator;
  beforeAll(async () => {
    // Rate limiting has its own emulator below, with a clock the test controls.
    emulator = await startTestEmulator({ scenario: { rateLimit: null } });
  });
  afterAll(() => emulator.close());
  beforeEach(() => {
    emulator.reset();
    emulator.setScenario({ mode: 'entitled', badToken: null, rotationTimestamp: null, latencyMs: 0 });
  });

  it('returns a PS256 token with the request claims that the public key verifies, issued at the emulator\'s time', async () => {
    const out = await register(meteringClient(emulator), { Nonce: 'n-123' });
    expect(out.PublicKeyRotationTimestamp).toBeUndefined();
    const token = out.Signature ?? '';
    const { payload, protectedHeader } = await jwtVerify(token, await importSPKI(emulator.publicKeyPem, 'PS256'), { algorithms: ['PS256'] });
    expect(protectedHeader).toEqual({ alg: 'PS256', typ: 'JWT' });
    expect(Object.keys(payload)).toEqual(['productCode', 'publicKeyVersion', 'nonce', 'iat']);
    expect(payload).toMatchObject({ productCode: PRODUCT, publicKeyVersion: 1, nonce: 'n-123' });
    expect(payload.iat).toBe(Date.parse(QUIET) / 1000);
  });

  it('leaves the nonce claim out when the request has no Nonce', async () => {
    const out = await register(meteringClient(emulator), { Nonce: undefined });
    const payload = decodeJwt(out.Signature ?? '');
    expect(payload).not.toHaveProperty('nonce');
    expect(decodeProtectedHeader(out.Signature ?? '').alg).toBe('PS256');
  });

  it.each([
    ['invalid-product-code', 'InvalidProductCodeException'],
    ['invalid-region', 'InvalidRegionException'],
    ['invalid-public-key-version', 'InvalidPublicKeyVersionException'],
    ['disabled-api', 'DisabledApiException'],
  ] as const)('mode %s answers %s on every call', async (mode, name) => {
    emulator.setScenario({ mode });
    const client = meteringClient(emulator);
    for (let i = 0; i < 2; i++) {
      const err = await rejection(register(client));
      expect(err.name).toBe(name);
      expect(err.$metadata?.httpStatusCode).toBe(400);
    }
    expect(emulator.state().counts['RegisterUsage']).toEqual({ [name]: 2 });
    expect(emulator.state().knownCallers).toBe(0);
  });

  it.each([
    ['not-entitled', 'CustomerNotEntitledException'],
    ['platform-not-supported', 'PlatformNotSupportedException'],
  ] as const)('mode %s denies only the first call of each caller (%s)', async (mode, name) => {
    emulator.setScenario({ mode });
    const podA = meteringClient(emulator, { sessionToken: 'session-of-pod-a' });
    expect((await rejection(register(podA))).name).toBe(name);
    expect((await register(podA)).Signature).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    // Same role, another pod: a different session token is a new caller, denied once.
    const podB = meteringClient(emulator, { sessionToken: 'session-of-pod-b' });
    expect((await rejection(register(podB))).name).toBe(name);
    expect((await register(podB)).Signature).toBeTruthy();
    expect(emulator.state().knownCallers).toBe(2);
    expect(emulator.state().counts['RegisterUsage']).toEqual({ [name]: 2, success: 2 });
  });

  it('keeps admitting a caller registered while entitled after the mode turns to not-entitled', async () => {
    const running = meteringClient(emulator, { sessionToken: 'running-task' });
    await register(running);
    emulator.setScenario({ mode: 'not-entitled' });
    expect((await register(running)).Signature).toBeTruthy();
    const fresh = meteringClient(emulator, { sessionToken: 'new-task' });
    expect((await rejection(register(fresh))).name).toBe('CustomerNotEntitledException');
  });

  it('answers ThrottlingException for the next N calls, then succeeds', async () => {
    emulator.setScenario({ throttle: 2 });
    const client = meteringClient(emulator);
    for (let i = 0; i < 2; i++) {
      const err = await rejection(register(client));
      expect(err.name).toBe('ThrottlingException');
      expect(err.message).toBe('Rate exceeded');
    }
    expect((await register(client)).Signature).toBeTruthy();
    expect(emulator.scenario().throttle).toBe(0);
  });

  it('answers 500 InternalServiceErrorException for the next N calls, then succeeds', async () => {
    emulator.setScenario({ internalError: 2 });
    const client = meteringClient(emulator);
    for (let i = 0; i < 2; i++) {
      const err = await rejection(register(client));
      expect(err.name).toBe('InternalServiceErrorException');
      expect(err.$metadata?.httpStatusCode).toBe(500);
    }
    expect((await register(client)).Signature).toBeTruthy();
    expect(emulator.state().counts['RegisterUsage']).toEqual({ InternalServiceErrorException: 2, success: 1 });
  });

  it('sends PublicKeyRotationTimestamp, which the SDK turns into a Date', async () => {
    emulator.setScenario({ rotationTimestamp: 1_767_225_600 });
    const out = await register(meteringClient(emulator));
    expect(out.PublicKeyRotationTimestamp).toBeInstanceOf(Date);
    expect(out.PublicKeyRotationTimestamp?.getTime()).toBe(1_767_225_600_000);
  });

  it('waits latencyMs before answering, so client timeouts can be exercised', async () => {
    emulator.setScenario({ latencyMs: 400 });
    const err = await rejection(register(meteringClient(emulator, { requestTimeout: 100 })));
    expect(err.name).toBe('TimeoutError');
  });
});

describe('configured product codes and key versions', () => {
  let emulator: TestEmulator;
  beforeAll(async () => {
    emulator = await startTestEmulator({ productCodes: [PRODUCT], publicKeyVersions: [1, 2] });
  });
  afterAll(() => emulator.close());

  it('answers InvalidProductCodeException for a product code that does not exist', async () => {
    const err = await rejection(register(meteringClient(emulator), { ProductCode: 'prod-someoneelses' }));
    expect(err.name).toBe('InvalidProductCodeException');
  });

  it('answers InvalidPublicKeyVersionException for a version not configured, and a token for one that is', async () => {
    expect((await rejection(register(meteringClient(emulator), { PublicKeyVersion: 3 }))).name).toBe('InvalidPublicKeyVersionException');
    const out = await register(meteringClient(emulator), { PublicKeyVersion: 2 });
    expect(decodeJwt(out.Signature ?? '')['publicKeyVersion']).toBe(2);
  });

  it('does not count a misconfigured call as the caller\'s first call', async () => {
    emulator.setScenario({ mode: 'not-entitled' });
    const client = meteringClient(emulator, { sessionToken: 'misconfigured-pod' });
    expect((await rejection(register(client, { ProductCode: 'prod-wrong' }))).name).toBe('InvalidProductCodeException');
    expect((await rejection(register(client))).name).toBe('CustomerNotEntitledException');
  });
});

describe('per-account rate limit', () => {
  const clock = manualClock(QUIET);
  const second = { accessKeyId: 'AKIAEMULATOR00000002', secretAccessKey: 'second/secret', accountId: '444455556666' };
  let emulator: TestEmulator;
  beforeAll(async () => {
    emulator = await startTestEmulator({
      clock,
      credentials: [...DEFAULT_EMULATOR_CREDENTIALS, second],
      scenario: { rateLimit: { perSecond: 5, burst: 5 } },
    });
  });
  afterAll(() => emulator.close());

  it('admits exactly `burst` of a parallel burst from one account and throttles the rest, then refills with time', async () => {
    const client = meteringClient(emulator);
    const results = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => register(client, { Nonce: `burst-${i}` })));
    const ok = results.filter((r) => r.status === 'fulfilled');
    const throttled = results.filter((r) => r.status === 'rejected' && (r.reason as Error).name === 'ThrottlingException');
    expect(ok).toHaveLength(5);
    expect(throttled).toHaveLength(7);

    // Another account has its own bucket.
    const other = meteringClient(emulator, { accessKeyId: second.accessKeyId, secretAccessKey: second.secretAccessKey });
    expect((await register(other)).Signature).toBeTruthy();

    // 400 ms at 5/s gives back 2 tokens.
    clock.advance(400);
    const again = await Promise.allSettled(Array.from({ length: 4 }, () => register(client)));
    expect(again.filter((r) => r.status === 'fulfilled')).toHaveLength(2);
    expect(emulator.state().counts['RegisterUsage']).toEqual({ success: 8, ThrottlingException: 9 });
  });

  it('can be switched off', async () => {
    emulator.reset();
    emulator.setScenario({ rateLimit: null });
    const client = meteringClient(emulator);
    const results = await Promise.allSettled(Array.from({ length: 12 }, () => register(client)));
    expect(results.every((r) => r.status === 'fulfilled')).toBe(true);
  });
});

describe('the region', () => {
  it('is required: no default region', async () => {
    await expect(startTestEmulator({ region: '' })).rejects.toThrow(/region must be an AWS region name/);
  });

  it('must match the region the request is signed for', async () => {
    const emulator = await startTestEmulator({ region: 'eu-central-1' });
    try {
      expect((await rejection(register(meteringClient(emulator, { region: REGION })))).name).toBe('InvalidRegionException');
      expect((await register(meteringClient(emulator, { region: 'eu-central-1' }))).Signature).toBeTruthy();
    } finally {
      await emulator.close();
    }
  });
});
