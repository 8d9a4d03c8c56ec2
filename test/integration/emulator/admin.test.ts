import { createPublicKey } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_SCENARIO, MODES, startEmulator } from '../../../src/emulator/index.js';
import { EmulatorStore, MAX_CALLS_KEPT } from '../../../src/emulator/state.js';
import { JSON_TYPE, meteringClient, PRODUCT, rawRequest, register, rejection, startTestEmulator } from '../../helpers/emulator-requests.js';
import type { TestEmulator } from '../../helpers/emulator-requests.js';

describe('the admin endpoint /_emulator/', () => {
  let emulator: TestEmulator;
  beforeAll(async () => {
    emulator = await startTestEmulator();
  });
  afterAll(() => emulator.close());
  beforeEach(() => {
    emulator.reset();
    emulator.setScenario({ ...DEFAULT_SCENARIO });
  });

  /** As curl or a test would call it: changes with content-type: application/json. */
  const admin = (method: string, name: string, body?: unknown, headers: Record<string, string> = method === 'GET' ? {} : JSON_TYPE) =>
    rawRequest(emulator.url, { method, path: `/_emulator/${name}`, headers, ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }) });

  it('PUT scenario applies a partial scenario and returns the whole one; state shows it', async () => {
    const res = await admin('PUT', 'scenario', { mode: 'not-entitled', throttle: 1, rateLimit: null });
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ ...DEFAULT_SCENARIO, mode: 'not-entitled', throttle: 1, rateLimit: null });
    expect(emulator.scenario().mode).toBe('not-entitled');

    const client = meteringClient(emulator);
    expect((await rejection(register(client))).name).toBe('ThrottlingException');
    expect((await rejection(register(client))).name).toBe('CustomerNotEntitledException');
    expect((await register(client)).Signature).toBeTruthy();

    const state = (await admin('GET', 'state')).json();
    expect(state).toEqual({
      scenario: { ...DEFAULT_SCENARIO, mode: 'not-entitled', rateLimit: null },
      counts: { RegisterUsage: { ThrottlingException: 1, CustomerNotEntitledException: 1, success: 1 } },
      knownCallers: 1,
      totalCalls: 3,
    });
  });

  it('PUT scenario rejects bad input with 400, naming each field and what it allows, and changes nothing', async () => {
    const res = await admin('PUT', 'scenario', { mode: 'maybe', throttle: -1, badToken: 'weird', rateLimit: { perSecond: 0 }, colour: 'blue' });
    expect(res.status).toBe(400);
    const { problems } = res.json() as { problems: string[] };
    expect(problems).toEqual([
      `mode must be one of: ${MODES.join(', ')}`,
      'throttle must be an integer >= 0',
      expect.stringMatching(/^badToken must be null or one of: tampered-signature, .*pascal-case-claims$/),
      expect.stringMatching(/^rateLimit must be null or \{"perSecond"/),
      expect.stringMatching(
        /^colour is not a scenario field; allowed fields: mode, throttle, internalError, rateLimit, latencyMs, rotationTimestamp, badToken, meterUsageRateLimit, batchMeterUsageRateLimit, resolveCustomerRateLimit, unprocessed, faultOperations, licenseManagerRateLimit, authorizationErrors$/,
      ),
    ]);
    expect(emulator.scenario()).toEqual(DEFAULT_SCENARIO);
  });

  it('PUT scenario answers 400 for a body that is not JSON', async () => {
    const res = await admin('PUT', 'scenario', 'mode=entitled');
    expect(res.status).toBe(400);
    expect(res.json()['problems']).toEqual(['the body must be a JSON object (a partial scenario)']);
  });

  it('GET public-key serves the PEM as text/plain', async () => {
    const res = await admin('GET', 'public-key');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(res.body).toBe(emulator.publicKeyPem);
    expect(res.body).toMatch(/^-----BEGIN PUBLIC KEY-----\n[\s\S]+\n-----END PUBLIC KEY-----\n$/);
  });

  it('GET calls lists recent calls with operation, product code, nonce, caller, outcome and time', async () => {
    emulator.setScenario({ mode: 'not-entitled' });
    const client = meteringClient(emulator);
    await rejection(register(client, { Nonce: 'first' }));
    await register(client, { Nonce: 'second' });
    await rawRequest(emulator.url, { headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'AWSMPMeteringService.RegisterUsage' }, body: '{}' });
    const { calls } = (await admin('GET', 'calls')).json() as { calls: Record<string, unknown>[] };
    expect(calls).toEqual([
      expect.objectContaining({ operation: 'RegisterUsage', productCode: PRODUCT, nonce: 'first', caller: 'AKIAEMULATOR00000001', outcome: 'CustomerNotEntitledException' }),
      expect.objectContaining({ operation: 'RegisterUsage', productCode: PRODUCT, nonce: 'second', caller: 'AKIAEMULATOR00000001', outcome: 'success' }),
      expect.objectContaining({ operation: 'RegisterUsage', productCode: null, nonce: null, caller: null, outcome: 'MissingAuthenticationTokenException' }),
    ]);
    for (const c of calls) expect(new Date(String(c['time'])).toISOString()).toBe(c['time']);
  });

  it('POST reset clears counts, calls, callers and pending faults but keeps the mode', async () => {
    emulator.setScenario({ mode: 'not-entitled', internalError: 5 });
    await rejection(register(meteringClient(emulator)));
    const res = await admin('POST', 'reset');
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ scenario: { ...DEFAULT_SCENARIO, mode: 'not-entitled', internalError: 0 }, counts: {}, knownCallers: 0, totalCalls: 0 });
    expect(emulator.calls()).toEqual([]);
    // The caller is forgotten, so its next call is a first call again.
    expect((await rejection(register(meteringClient(emulator)))).name).toBe('CustomerNotEntitledException');
  });

  it('answers 404 listing the endpoints for an unknown path and 405 for a wrong method', async () => {
    const missing = await admin('GET', 'nothing');
    expect(missing.status).toBe(404);
    expect(missing.json()['endpoints']).toEqual([
      'GET /_emulator/state',
      'PUT /_emulator/scenario',
      'POST /_emulator/reset',
      'GET /_emulator/public-key',
      'GET /_emulator/calls',
      'GET /_emulator/records',
      'POST /_emulator/registration-tokens',
      'GET /_emulator/licenses',
      'PUT /_emulator/licenses',
      'PUT /_emulator/licenses/status',
      'GET /_emulator/consumptions',
      'GET /_emulator/license-issuer-key',
      'POST /_emulator/license-tokens',
      'POST /_emulator/license-tokens/revoke',
      'GET /_emulator/roles',
      'PUT /_emulator/roles',
    ]);
    const wrong = await admin('GET', 'scenario');
    expect(wrong.status).toBe(405);
    expect(wrong.headers['allow']).toBe('PUT');
  });

  // What a web page can send to 127.0.0.1 without a CORS preflight: a form (urlencoded, multipart,
  // text/plain) or fetch/sendBeacon with a text/plain body. None of them may change anything.
  it.each([
    ['PUT', 'scenario', { 'content-type': 'text/plain;charset=UTF-8' }],
    ['POST', 'reset', { 'content-type': 'text/plain' }],
    ['POST', 'reset', { 'content-type': 'application/x-www-form-urlencoded' }],
    ['POST', 'registration-tokens', { 'content-type': 'multipart/form-data; boundary=x' }],
    ['POST', 'reset', {}],
    ['POST', 'reset', { 'content-type': 'text/plain; application/json' }],
    ['POST', 'reset', { 'content-type': 'application/jsonp' }],
  ])('%s %s with %j: 415, and nothing changes', async (method, name, headers) => {
    emulator.setScenario({ mode: 'not-entitled', throttle: 3 });
    await rejection(register(meteringClient(emulator)));
    const body = name === 'scenario' ? { mode: 'entitled' } : name === 'registration-tokens' ? { customerAWSAccountId: '123456789012', productCode: PRODUCT } : '';
    const res = await admin(method, name, body, headers);
    expect(res.status).toBe(415);
    expect(res.json()['error']).toBe(
      `${method} /_emulator/${name} needs the header content-type: application/json (so that no web page can send it without a CORS preflight, which the emulator never grants)`,
    );
    expect(emulator.scenario()).toMatchObject({ mode: 'not-entitled', throttle: 2 });
    expect(emulator.state().totalCalls).toBe(1);
  });

  it('takes application/json with parameters, in any case', async () => {
    expect((await admin('PUT', 'scenario', { mode: 'disabled-api' }, { 'content-type': 'Application/JSON; charset=utf-8' })).status).toBe(200);
    expect(emulator.scenario().mode).toBe('disabled-api');
  });

  it('never grants a CORS preflight, on the admin paths or the API', async () => {
    const preflight = { origin: 'https://evil.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' };
    for (const path of ['/_emulator/reset', '/_emulator/scenario', '/']) {
      const res = await rawRequest(emulator.url, { method: 'OPTIONS', path, headers: preflight });
      expect(res.status, path).toBeGreaterThanOrEqual(400);
      expect(Object.keys(res.headers).filter((h) => h.startsWith('access-control-')), path).toEqual([]);
    }
  });

  it('is not counted as Metering API calls', async () => {
    await admin('GET', 'state');
    expect(emulator.state().totalCalls).toBe(0);
  });
});

describe('the programmatic API', () => {
  it('setScenario throws a TypeError naming every bad field', async () => {
    const emulator = await startTestEmulator();
    try {
      expect(() => emulator.setScenario({ mode: 'nope' as never, latencyMs: -5 })).toThrow(
        /^invalid emulator scenario: mode must be one of: .*; latencyMs must be an integer from 0 to 600000$/,
      );
    } finally {
      await emulator.close();
    }
  });

  it('startEmulator rejects bad options, listing every problem', async () => {
    await expect(
      startTestEmulator({ region: 'mars', port: 70000, publicKeyVersions: [0], credentials: [{ accessKeyId: 'AK/ID', secretAccessKey: '', accountId: '12' }] }),
    ).rejects.toThrow(/region must be .*; port must be .*; credentials: accessKeyId "AK\/ID" .*; credentials: secretAccessKey .*; credentials: accountId .*; publicKeyVersions must be/);
    await expect(startTestEmulator({ scenario: { mode: 'x' as never } })).rejects.toThrow(/mode must be one of/);
  });

  it('writes the public key to publicKeyOut atomically at start, leaving no temp file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'emulator-key-'));
    try {
      const file = join(dir, 'product-key.pem');
      const emulator = await startTestEmulator({ publicKeyOut: file });
      await emulator.close();
      expect(await readFile(file, 'utf8')).toBe(emulator.publicKeyPem);
      expect((await stat(file)).mode & 0o777).toBe(0o644);
      expect(await readdir(dir)).toEqual(['product-key.pem']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('makes a 3072-bit RSA key by default, like real product keys', async () => {
    const emulator = await startEmulator({ region: 'us-east-1' });
    await emulator.close();
    expect(createPublicKey(emulator.publicKeyPem).asymmetricKeyDetails?.modulusLength).toBe(3072);
  });

  it('makes a new key pair at every start', async () => {
    const [a, b] = await Promise.all([startTestEmulator(), startTestEmulator()]);
    await Promise.all([a.close(), b.close()]);
    expect(a.publicKeyPem).not.toBe(b.publicKeyPem);
  });

  it('close() ends calls still waiting out their latency and resolves', async () => {
    const logs = new PassThrough();
    const delaying = new Promise<void>((resolve) => {
      let text = '';
      logs.on('data', (chunk: Buffer) => {
        text += chunk.toString('utf8');
        if (text.split('\n').some((line) => line.includes('"msg":"delaying answer"'))) resolve();
      });
    });
    const emulator = await startTestEmulator({ scenario: { latencyMs: 600_000 }, logger: pino({ level: 'debug' }, logs) });
    const pending = register(meteringClient(emulator));
    await delaying;
    await emulator.close();
    await expect(pending).rejects.toThrow();
  });

  it('default port is ephemeral and the url points at it', async () => {
    const emulator = await startTestEmulator();
    try {
      expect(emulator.port).toBeGreaterThan(0);
      expect(emulator.url).toBe(`http://127.0.0.1:${emulator.port}`);
    } finally {
      await emulator.close();
    }
  });
});

describe('EmulatorStore', () => {
  it(`keeps only the last ${MAX_CALLS_KEPT} calls but counts all of them`, () => {
    const store = new EmulatorStore(undefined);
    for (let i = 0; i < 1234; i++) {
      store.record({ time: new Date(0).toISOString(), requestId: String(i), operation: 'RegisterUsage', outcome: 'success', caller: null, productCode: null, nonce: null, signedHeaders: [] });
    }
    const calls = store.recentCalls();
    expect(calls).toHaveLength(MAX_CALLS_KEPT);
    expect(calls[0]?.requestId).toBe('234');
    expect(calls.at(-1)?.requestId).toBe('1233');
    expect(store.state().counts).toEqual({ RegisterUsage: { success: 1234 } });
  });
});
