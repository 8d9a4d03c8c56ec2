import { chmodSync, existsSync, mkdirSync, readFileSync, statfsSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { emulator, sidecarAwsEnv } from '../../helpers/emulator.js';
import { runCli, startCli, type CliProcess } from '../../helpers/process.js';
import { fillVolume, privateTmpfs } from '../../helpers/tmpfs.js';
import { tempDir } from '../../helpers/tmp.js';

const PRODUCT = 'prod-abc123';

async function started(p: CliProcess): Promise<number> {
  const line = await p.waitForLine((l) => l.msg === 'entitlement sidecar starting');
  return Number(String(line.listen).split(':').pop());
}

function decided(p: CliProcess) {
  return p.waitForLine((l) => l.msg === 'entitled' || String(l.msg).startsWith('not entitled'));
}

async function sidecarEnv(emu: Awaited<ReturnType<typeof emulator>>, dir: string, extra: Record<string, string> = {}): Promise<NodeJS.ProcessEnv> {
  return {
    ...sidecarAwsEnv(emu, dir),
    MARKETPLACE_PRODUCT_CODE: PRODUCT,
    MARKETPLACE_PUBLIC_KEY: emu.publicKeyPem,
    ENTITLEMENT_FILE: join(dir, 'entitlement.json'),
    ENTITLEMENT_LISTEN: '127.0.0.1:0',
    ...extra,
  };
}

describe('entitlement-sidecar run, as a real process', () => {
  it('exits 2 and names every invalid setting', async () => {
    const r = await runCli(['run', '--register-deadline', 'forever'], {
      MARKETPLACE_PRODUCT_CODE: 'bad code',
      MARKETPLACE_PUBLIC_KEY_VERSION: 'x',
      ENTITLEMENT_LISTEN: ':',
    });
    expect(r.code).toBe(2);
    for (const name of ['MARKETPLACE_PRODUCT_CODE', 'MARKETPLACE_PUBLIC_KEY_VERSION', 'MARKETPLACE_PUBLIC_KEY_FILE or MARKETPLACE_PUBLIC_KEY', 'ENTITLEMENT_LISTEN', 'ENTITLEMENT_REGISTER_DEADLINE', 'ENTITLEMENT_FILE']) {
      expect(r.stderr).toContain(`- ${name}`);
    }
    const fatal = r.lines.find((l) => l.msg === 'invalid configuration; not starting');
    expect((fatal?.problems as string[]).length).toBe(6);
  });

  it('registers, writes the file, answers check and stops on SIGTERM with exit 0', async () => {
    const emu = await emulator();
    const dir = tempDir();
    const p = startCli(['run'], await sidecarEnv(emu, dir));
    const port = await started(p);
    await decided(p);
    expect(JSON.parse(readFileSync(join(dir, 'entitlement.json'), 'utf8'))).toMatchObject({ productCode: PRODUCT });
    const check = await runCli(['check', '--listen', `0.0.0.0:${port}`], {});
    expect(check.code).toBe(0);
    expect(JSON.parse(check.stdout)).toMatchObject({ status: 'entitled' });
    p.child.kill('SIGTERM');
    expect(await p.exited).toEqual({ code: 0, signal: null });
    expect(p.lines().some((l) => l.msg === 'stopping' && l.signal === 'SIGTERM')).toBe(true);
    // It stopped by itself, not by the stop budget's forced exit (which skips this line).
    expect(p.lines().some((l) => l.msg === 'entitlement sidecar stopped')).toBe(true);
  });

  it('stops at once on SIGTERM in the middle of a backoff', async () => {
    const emu = await emulator({ throttle: 1_000_000, rateLimit: null });
    const dir = tempDir();
    const p = startCli(['run'], await sidecarEnv(emu, dir));
    // Three throttles in: the backoff is now seconds long.
    await p.waitForLine((l) => l.msg === 'RegisterUsage failed transiently; retrying' && Number(l.attempt) >= 3);
    p.child.kill('SIGTERM');
    expect(await p.exited).toEqual({ code: 0, signal: null });
    // The backoff was cut short: the run ended by itself, not by the stop budget's forced exit.
    expect(p.lines().some((l) => l.msg === 'entitlement sidecar stopped')).toBe(true);
    expect(existsSync(join(dir, 'entitlement.json'))).toBe(false);
  });

  it('keeps a denial across a restart of the container: zero further calls, same answer, check fails', async () => {
    const emu = await emulator({ mode: 'not-entitled' });
    const dir = tempDir();
    const env = await sidecarEnv(emu, dir);
    const first = startCli(['run'], env);
    await started(first);
    expect(await decided(first)).toMatchObject({ code: 'CUSTOMER_NOT_ENTITLED', awsError: 'CustomerNotEntitledException' });
    first.child.kill('SIGTERM');
    await first.exited;
    expect(emu.state().totalCalls).toBe(1);

    // AWS would now let this pod through: only the first call from a pod is denied.
    emu.setScenario({ mode: 'entitled' });
    const second = startCli(['run'], env);
    const port = await started(second);
    expect(await decided(second)).toMatchObject({ code: 'CUSTOMER_NOT_ENTITLED', sticky: true });
    expect(emu.state().totalCalls).toBe(1);
    const check = await runCli(['check', '--listen', `127.0.0.1:${port}`], {});
    expect(check.code).toBe(1);
    expect(JSON.parse(check.stdout)).toMatchObject({ status: 'not_entitled', code: 'CUSTOMER_NOT_ENTITLED', sticky: true });
    second.child.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
  });

  it('reports missing credentials as misconfigured, naming the fix', async () => {
    const emu = await emulator();
    const dir = tempDir();
    const env = await sidecarEnv(emu, dir);
    delete env.AWS_ACCESS_KEY_ID;
    delete env.AWS_SECRET_ACCESS_KEY;
    const p = startCli(['run'], env);
    expect(await decided(p)).toMatchObject({ code: 'CREDENTIALS_UNAVAILABLE', status: 'misconfigured' });
    expect(p.lines().some((l) => l.level === 'warn' && l.credentialSource === 'instance-profile')).toBe(true);
    expect(emu.state().totalCalls).toBe(0);
  });

  it('exits 2 naming ENTITLEMENT_FILE when its directory is not writable', async () => {
    const emu = await emulator();
    const dir = tempDir();
    const ro = join(dir, 'ro');
    mkdirSync(ro);
    chmodSync(ro, 0o555);
    const env = await sidecarEnv(emu, dir, { ENTITLEMENT_FILE: join(ro, 'entitlement.json') });
    // Root writes through mode bits, so as root the directory becomes a read-only mount, as a volume
    // mounted readOnly would be: in a private mount namespace, so nothing outside this process sees it.
    const readOnlyMount =
      process.getuid?.() === 0
        ? ['unshare', '-m', '--propagation', 'private', 'sh', '-c', `mount --bind "${ro}" "${ro}" && mount -o remount,bind,ro "${ro}" && exec "$@"`, 'sh']
        : [];
    const r = await runCli(['run'], env, readOnlyMount);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`ENTITLEMENT_FILE its directory ${ro} is not writable \\((EROFS|EACCES)\\)`));
  });

  it('never logs the credentials or the token', async () => {
    const emu = await emulator();
    const dir = tempDir();
    const p = startCli(['run', '--log-level', 'trace'], await sidecarEnv(emu, dir));
    await decided(p);
    const token = String(JSON.parse(readFileSync(join(dir, 'entitlement.json'), 'utf8')).signature);
    const out = p.stdout() + p.stderr();
    expect(out).not.toContain(token.split('.')[2]);
    expect(out).not.toContain(String(sidecarAwsEnv(emu, dir).AWS_SECRET_ACCESS_KEY));
  });
});

describe('entitlement-sidecar run, when the listen address cannot be opened', () => {
  it.each([
    ['a port in use', async () => {
      const busy = createServer();
      await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
      afterEach(() => new Promise<void>((r) => busy.close(() => r())));
      return { listen: `127.0.0.1:${(busy.address() as AddressInfo).port}`, wrapper: [] as string[] };
    }, 'the port is already in use'],
    // Root may bind below 1024; the sidecar runs as uid 65532 in its image.
    ['a privileged port without the capability', async () => ({ listen: '127.0.0.1:81', wrapper: ['setpriv', '--reuid=65532', '--regid=65532', '--clear-groups'] }), 'binding a port below 1024 needs the capability NET_BIND_SERVICE'],
    ['an address this host lacks', async () => ({ listen: '192.0.2.1:9797', wrapper: [] as string[] }), 'this host has no such address'],
  ])('exits 2 with one line naming ENTITLEMENT_LISTEN for %s, not a stack trace', async (_name, setup, why) => {
    const emu = await emulator();
    const dir = tempDir();
    chmodSync(dir, 0o777);
    const { listen, wrapper } = await setup();
    const r = await runCli(['run'], await sidecarEnv(emu, dir, { ENTITLEMENT_LISTEN: listen }), wrapper);
    expect(r.code).toBe(2);
    const fatal = r.lines.filter((l) => l.level === 'fatal');
    expect(fatal).toHaveLength(1);
    expect(fatal[0]).toMatchObject({ setting: 'ENTITLEMENT_LISTEN' });
    expect(String(fatal[0]?.msg)).toContain(`ENTITLEMENT_LISTEN ${listen}: ${why}`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(emu.state().totalCalls).toBe(0);
  });
});

describe('entitlement-sidecar run, when the usage intake cannot listen', () => {
  it('exits 2 naming ENTITLEMENT_USAGE_LISTEN for a port in use, before calling AWS', async () => {
    const emu = await emulator();
    const dir = tempDir();
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    afterEach(() => new Promise<void>((r) => busy.close(() => r())));
    const listen = `127.0.0.1:${(busy.address() as AddressInfo).port}`;
    const r = await runCli(['run'], await sidecarEnv(emu, dir, { MARKETPLACE_USAGE_DIMENSIONS: 'gb', ENTITLEMENT_USAGE_LISTEN: listen }));
    expect(r.code).toBe(2);
    const fatal = r.lines.filter((l) => l.level === 'fatal');
    expect(fatal).toHaveLength(1);
    expect(fatal[0]).toMatchObject({ setting: 'ENTITLEMENT_USAGE_LISTEN', code: 'EADDRINUSE' });
    expect(emu.state().totalCalls).toBe(0);
  });
});

describe('entitlement-sidecar run, on a full volume', () => {
  it('keeps the entitlement file an earlier run in the pod wrote when the volume is full at a restart', async () => {
    const emu = await emulator();
    const volume = await privateTmpfs(64 * 1024);
    const env = await sidecarEnv(emu, volume.dir);
    const first = startCli(['run'], env, volume.wrapper);
    expect(await decided(first)).toMatchObject({ code: 'ENTITLED' });
    first.child.kill('SIGTERM');
    expect((await first.exited).code).toBe(0);
    const before = readFileSync(join(volume.view, 'entitlement.json'), 'utf8');
    // Another writer fills the volume to the last block.
    fillVolume(join(volume.view, 'filler'));
    expect(statfsSync(volume.view).bavail).toBe(0);

    const second = startCli(['run'], env, volume.wrapper);
    const port = await started(second);
    expect(await decided(second)).toMatchObject({ status: 'entitled', code: 'ENTITLED' });
    expect(second.lines().some((l) => l.level === 'warn' && l.errno === 'ENOSPC')).toBe(true);
    expect(readFileSync(join(volume.view, 'entitlement.json'), 'utf8')).toBe(before);
    const check = await runCli(['check', '--listen', `127.0.0.1:${port}`], {});
    expect(check.code).toBe(0);
    expect(JSON.parse(check.stdout).message).toContain('the file could not be rewritten');
    second.child.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
  });
});

describe('entitlement-sidecar check', () => {
  it('exits 1 when nothing listens', async () => {
    const r = await runCli(['check'], { ENTITLEMENT_LISTEN: '127.0.0.1:1' });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('healthz unreachable on 127.0.0.1:1');
  });
  it('exits 2 on a malformed listen address', async () => {
    expect((await runCli(['check'], { ENTITLEMENT_LISTEN: 'nope' })).code).toBe(2);
  });
});

describe('entitlement-sidecar verify', () => {
  async function entitledFile() {
    const emu = await emulator();
    const dir = tempDir();
    const p = startCli(['run'], await sidecarEnv(emu, dir));
    await decided(p);
    p.child.kill('SIGTERM');
    await p.exited;
    const keyFile = join(dir, 'key.pem');
    writeFileSync(keyFile, emu.publicKeyPem);
    return { file: join(dir, 'entitlement.json'), keyFile, dir };
  }

  it('exits 0 for the file the sidecar wrote, and 1 with the reason once it is edited', async () => {
    const { file, keyFile } = await entitledFile();
    const env = { ENTITLEMENT_FILE: file, MARKETPLACE_PUBLIC_KEY_FILE: keyFile, MARKETPLACE_PRODUCT_CODE: PRODUCT };
    const good = await runCli(['verify'], env);
    expect(good.code).toBe(0);
    expect(JSON.parse(good.stdout)).toMatchObject({ valid: true, productCode: PRODUCT, publicKeyVersion: 1 });

    const record = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    writeFileSync(file, JSON.stringify({ ...record, nonce: 'forged' }));
    const edited = await runCli(['verify'], env);
    expect(edited.code).toBe(1);
    expect(JSON.parse(edited.stderr)).toMatchObject({ valid: false, reason: 'nonce_mismatch' });

    writeFileSync(file, JSON.stringify(record));
    const wrongProduct = await runCli(['verify', '--product-code', 'prod-other'], env);
    expect(wrongProduct.code).toBe(1);
    expect(JSON.parse(wrongProduct.stderr)).toMatchObject({ reason: 'product_code_mismatch' });
  });

  it('exits 1 for a file signed by another key and 2 without a key', async () => {
    const { file } = await entitledFile();
    const other = await emulator();
    const r = await runCli(['verify', '--entitlement-file', file, '--public-key', other.publicKeyPem], {});
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stderr)).toMatchObject({ reason: 'signature' });
    const noKey = await runCli(['verify', '--entitlement-file', file], {});
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toContain('MARKETPLACE_PUBLIC_KEY_FILE or MARKETPLACE_PUBLIC_KEY is required');
  });
});
