import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runEmulatorCommand } from '../../../src/cli/emulator.js';
import { meteringClient, PRODUCT, rawRequest, realClock, register, rejection } from '../../helpers/emulator-requests.js';
import { startCli } from '../../helpers/process.js';
import { checkout, licenseClient, ONE_USER, seats } from '../../helpers/license-manager.js';

/** Collects a stream's text and resolves once a line satisfies `match`. */
function watch(stream: PassThrough): { text: () => string; line: (match: (l: string) => boolean) => Promise<string> } {
  let text = '';
  const waiters: { match: (l: string) => boolean; resolve: (l: string) => void }[] = [];
  stream.on('data', (chunk: Buffer) => {
    text += chunk.toString('utf8');
    for (const w of [...waiters]) {
      const found = text.split('\n').find(w.match);
      if (found !== undefined) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(found);
      }
    }
  });
  return {
    text: () => text,
    line: (match) =>
      new Promise((resolve) => {
        const found = text.split('\n').find(match);
        if (found !== undefined) resolve(found);
        else waiters.push({ match, resolve });
      }),
  };
}

describe('runEmulatorCommand', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'emulator-cli-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('prints one listening line, writes --public-key-out, serves the scenario, and stops on abort with 0', async () => {
    const stdout = new PassThrough();
    const out = watch(stdout);
    const stop = new AbortController();
    const keyFile = join(dir, 'key.pem');
    const done = runEmulatorCommand(
      ['--listen', '127.0.0.1:0', '--region', 'us-east-1', '--public-key-out', keyFile, '--key-bits', '2048', '--scenario', 'not-entitled', '--products', PRODUCT],
      {},
      { stdout, stderr: new PassThrough(), signal: stop.signal },
    );
    const listening = JSON.parse(await out.line((l) => l.includes('"msg":"emulator listening"'))) as Record<string, unknown>;
    expect(listening).toMatchObject({ msg: 'emulator listening', region: 'us-east-1', publicKeyFile: keyFile });
    const url = String(listening['url']);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    const pem = await readFile(keyFile, 'utf8');
    expect((await rawRequest(url, { method: 'GET', path: '/_emulator/public-key' })).body).toBe(pem);
    // The command runs on the machine's clock (it has no other), so the client signs with it too.
    const asEmulator = { url, clock: realClock() };
    expect((await rejection(register(meteringClient(asEmulator)))).name).toBe('CustomerNotEntitledException');
    expect((await rejection(register(meteringClient(asEmulator), { ProductCode: 'prod-other' }))).name).toBe('InvalidProductCodeException');

    stop.abort();
    expect(await done).toBe(0);
    expect(out.text().split('\n').filter((l) => l.includes('emulator listening'))).toHaveLength(1);
    await expect(rawRequest(url, { method: 'GET', path: '/_emulator/state' })).rejects.toThrow(/ECONNREFUSED/);
  });

  it.each([
    ['127.0.0.1:0', false],
    ['localhost:0', false],
    ['[::1]:0', false],
    ['0.0.0.0:0', true],
  ])('--listen %s: warns about a non-loopback address: %s', async (listen, warned) => {
    const stdout = new PassThrough();
    const out = watch(stdout);
    const stop = new AbortController();
    const done = runEmulatorCommand(['--listen', listen, '--region', 'us-east-1', '--key-bits', '2048'], {}, { stdout, stderr: new PassThrough(), signal: stop.signal });
    await out.line((l) => l.includes('"msg":"emulator listening"'));
    stop.abort();
    expect(await done).toBe(0);
    const warnings = out.text().split('\n').filter((l) => l.includes('"level":40'));
    expect(warnings.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(
      warned ? [expect.stringMatching(/^emulator listening on a non-loopback address: .*it is meant for tests, on 127\.0\.0\.1$/)] : [],
    );
  });

  it('as a real process, closes the server and exits 0 on SIGTERM', async () => {
    const p = startCli(['emulator', '--listen', '127.0.0.1:0', '--region', 'us-east-1', '--key-bits', '2048'], {});
    const { url } = (await p.waitForLine((l) => l.msg === 'emulator listening')) as { url: string };
    expect((await rawRequest(url, { method: 'GET', path: '/_emulator/state' })).status).toBe(200);
    p.child.kill('SIGTERM');
    expect(await p.exited).toEqual({ code: 0, signal: null });
    await expect(rawRequest(url, { method: 'GET', path: '/_emulator/state' })).rejects.toThrow(/ECONNREFUSED/);
  });

  it('serves the licenses of --licenses FILE with the checkout TTL of EMULATOR_CONSUMPTION_TTL', async () => {
    const file = join(dir, 'licenses.json');
    await writeFile(file, JSON.stringify([seats(1)]));
    const stdout = new PassThrough();
    const out = watch(stdout);
    const stop = new AbortController();
    const done = runEmulatorCommand(['--listen', '127.0.0.1:0', '--region', 'us-east-1', '--key-bits', '2048', '--licenses', file], { EMULATOR_CONSUMPTION_TTL: '90' }, { stdout, stderr: new PassThrough(), signal: stop.signal });
    const { url } = JSON.parse(await out.line((l) => l.includes('"msg":"emulator listening"'))) as { url: string };
    const client = licenseClient({ url, clock: realClock() });
    const held = await checkout(client, ONE_USER);
    expect(Date.parse(held.Expiration ?? '') - Date.parse(held.IssuedAt ?? '')).toBe(90_000);
    expect((await rejection(checkout(client, ONE_USER))).name).toBe('NoEntitlementsAllowedException');
    const { licenses } = (await rawRequest(url, { method: 'GET', path: '/_emulator/licenses' })).json() as { licenses: { entitlements: { inUse: number }[] }[] };
    expect(licenses.map((l) => l.entitlements[0]?.inUse)).toEqual([1]);
    stop.abort();
    expect(await done).toBe(0);
  });

  it('returns 2 and names every bad flag on stderr', async () => {
    const stderr = new PassThrough();
    const err = watch(stderr);
    const code = await runEmulatorCommand(['--listen', 'x', '--scenario', 'nope'], {}, { stdout: new PassThrough(), stderr });
    expect(code).toBe(2);
    expect(err.text()).toContain('entitlement-sidecar emulator: --listen must be HOST:PORT');
    expect(err.text()).toContain('entitlement-sidecar emulator: --region (or EMULATOR_REGION, or AWS_REGION) is required');
    expect(err.text()).toContain('entitlement-sidecar emulator: --scenario must be one of:');
    expect(err.text()).toContain('usage: entitlement-sidecar emulator');
  });

  it('returns 1 with the reason when it cannot listen', async () => {
    const stdout = new PassThrough();
    const out = watch(stdout);
    const stop = new AbortController();
    const first = runEmulatorCommand(['--listen', '127.0.0.1:0', '--region', 'us-east-1', '--key-bits', '2048'], {}, { stdout, stderr: new PassThrough(), signal: stop.signal });
    const { url } = JSON.parse(await out.line((l) => l.includes('"msg":"emulator listening"'))) as { url: string };
    const stderr = new PassThrough();
    const err = watch(stderr);
    const code = await runEmulatorCommand(['--listen', new URL(url).host, '--region', 'us-east-1', '--key-bits', '2048'], {}, { stdout: new PassThrough(), stderr });
    expect(code).toBe(1);
    expect(err.text()).toMatch(/cannot start: .*EADDRINUSE/);
    stop.abort();
    expect(await first).toBe(0);
  });
});
