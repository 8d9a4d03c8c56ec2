/**
 * Init mode, as a real process: `entitlement-sidecar register` against the emulator exits by itself
 * with the documented code, leaves the entitlement file (or the denial record) on the volume and its
 * outcome in the termination message; a restarted init container in a denied pod calls AWS no more.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statfsSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Emulator, Scenario } from '../../../src/emulator/index.js';
import { REGISTER_EXIT_CODES, SIGNAL_EXIT_CODES } from '../../../src/sidecar/register.js';
import { denialPathFor } from '../../../src/sidecar/denial.js';
import { emulator, sidecarAwsEnv } from '../../helpers/emulator.js';
import { runCli, startCli } from '../../helpers/process.js';
import { tempDir } from '../../helpers/tmp.js';
import { fillVolume, privateTmpfs } from '../../helpers/tmpfs.js';

const PRODUCT = 'prod-init0000000000000000';

/** A pod's environment: the volume in `dir`, and the termination-log file Kubernetes creates empty. */
function pod(emu: Emulator, extra: Record<string, string> = {}) {
  const dir = tempDir();
  const terminationLog = join(dir, 'termination-log');
  writeFileSync(terminationLog, '');
  const env: NodeJS.ProcessEnv = {
    ...sidecarAwsEnv(emu, dir),
    MARKETPLACE_PRODUCT_CODE: PRODUCT,
    MARKETPLACE_PUBLIC_KEY: emu.publicKeyPem,
    ENTITLEMENT_FILE: join(dir, 'entitlement.json'),
    ENTITLEMENT_TERMINATION_MESSAGE_PATH: terminationLog,
    ...extra,
  };
  return { dir, env, terminationLog, file: join(dir, 'entitlement.json'), message: () => readFileSync(terminationLog, 'utf8') };
}

describe('entitlement-sidecar register (init mode)', () => {
  it('entitled: writes a file that verifies, says so in the termination message, exits 0 and leaves nothing running', async () => {
    const emu = await emulator();
    const p = pod(emu);
    const r = await runCli(['register'], p.env);
    expect(r.code).toBe(0);
    expect(emu.state().totalCalls).toBe(1);
    expect(p.message()).toMatch(/^entitled \(ENTITLED\): /);
    // No probe server was started: nothing listens, nothing is logged as listening.
    const starting = r.lines.find((l) => l.msg === 'entitlement sidecar starting');
    expect(starting).toMatchObject({ mode: 'init', productCode: PRODUCT });
    expect(starting?.listen).toBeUndefined();
    expect(r.lines.find((l) => l.msg === 'register exiting')).toMatchObject({ exitCode: 0, code: 'ENTITLED', terminationMessage: p.terminationLog });
    const verify = await runCli(['verify', '--entitlement-file', p.file, '--product-code', PRODUCT, '--public-key', emu.publicKeyPem], {});
    expect(verify.code).toBe(0);
  });

  it('not subscribed: exits 3 with the reason and the action in the termination message; the restarted init container does not call again', async () => {
    const emu = await emulator({ mode: 'not-entitled' });
    const p = pod(emu);
    const first = await runCli(['register'], p.env);
    expect(first.code).toBe(REGISTER_EXIT_CODES.not_entitled);
    expect(p.message()).toMatch(/^not_entitled \(CUSTOMER_NOT_ENTITLED\): .*Action: /s);
    expect(existsSync(p.file)).toBe(false);
    expect(existsSync(denialPathFor(p.file))).toBe(true);
    expect(emu.state().totalCalls).toBe(1);

    // The kubelet restarts the failed init container in the same pod (same volume); AWS would let it through now.
    emu.setScenario({ mode: 'entitled' });
    writeFileSync(p.terminationLog, '');
    const second = await runCli(['register'], p.env);
    expect(second.code).toBe(REGISTER_EXIT_CODES.not_entitled);
    expect(emu.state().totalCalls).toBe(1);
    expect(p.message()).toMatch(/^not_entitled \(CUSTOMER_NOT_ENTITLED\): denied earlier in this pod\/task/);
    expect(second.lines.find((l) => l.msg === 'register exiting')).toMatchObject({ exitCode: 3, code: 'CUSTOMER_NOT_ENTITLED' });
    expect(existsSync(p.file)).toBe(false);
  });

  const denials: [Scenario['mode'], string, number][] = [
    ['platform-not-supported', 'PLATFORM_NOT_SUPPORTED', REGISTER_EXIT_CODES.platform_not_supported],
    ['invalid-product-code', 'INVALID_PRODUCT_CODE', REGISTER_EXIT_CODES.misconfigured],
    ['disabled-api', 'API_DISABLED', REGISTER_EXIT_CODES.failed],
  ];
  it.each(denials)('%s: exits with its own code and names %s in the termination message', async (mode, code, exitCode) => {
    const emu = await emulator({ mode });
    const p = pod(emu);
    const r = await runCli(['register'], p.env);
    expect(r.code).toBe(exitCode);
    expect(p.message()).toContain(`(${code}): `);
    expect(existsSync(p.file)).toBe(false);
  });

  it('the exit codes are distinct and none is the CLI code for bad configuration (2) or a crash (1)', () => {
    const codes = Object.values(REGISTER_EXIT_CODES);
    expect(new Set(codes).size).toBe(codes.length);
    expect(codes.filter((c) => c !== 0).every((c) => c > 2 && c < 126)).toBe(true);
  });

  it('refuses usage metering and License Manager, which need a running process: exit 2, no call to AWS, the reason in the termination message', async () => {
    const emu = await emulator();
    const usage = pod(emu, { MARKETPLACE_USAGE_DIMENSIONS: 'Requests' });
    const r = await runCli(['register'], usage.env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('MARKETPLACE_USAGE_DIMENSIONS is set: usage metering needs a running sidecar');
    expect(usage.message()).toMatch(/^misconfigured \(CONFIG_INVALID\): MARKETPLACE_USAGE_DIMENSIONS/);

    const lm = pod(emu, {
      ENTITLEMENT_SOURCE: 'license-manager',
      MARKETPLACE_PRODUCT_SKU: '7a1c2b3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
      MARKETPLACE_LICENSE_ENTITLEMENTS: 'Nodes:Count:1',
      MARKETPLACE_PRODUCT_CODE: '',
      MARKETPLACE_PUBLIC_KEY: '',
    });
    const l = await runCli(['register'], lm.env);
    expect(l.code).toBe(2);
    expect(l.stderr).toContain('ENTITLEMENT_SOURCE=license-manager needs a running sidecar');
    expect(lm.message()).toContain('license-manager');
    expect(emu.state().totalCalls).toBe(0);
  });

  it('an invalid setting exits 2 naming it, in stderr and in the termination message', async () => {
    const emu = await emulator();
    const p = pod(emu, { MARKETPLACE_PRODUCT_CODE: 'bad code' });
    const r = await runCli(['register'], p.env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('MARKETPLACE_PRODUCT_CODE');
    expect(p.message()).toMatch(/^misconfigured \(CONFIG_INVALID\): .*MARKETPLACE_PRODUCT_CODE/s);
    expect(emu.state().totalCalls).toBe(0);
  });

  it('writes only a termination-log file that exists, never through a symlink and never creating one', async () => {
    const emu = await emulator();
    const p = pod(emu);
    const elsewhere = join(p.dir, 'elsewhere');
    mkdirSync(elsewhere);
    const target = join(elsewhere, 'victim');
    writeFileSync(target, 'keep me');
    const link = join(p.dir, 'link');
    symlinkSync(target, link);
    const viaLink = await runCli(['register'], { ...p.env, ENTITLEMENT_TERMINATION_MESSAGE_PATH: link });
    expect(viaLink.code).toBe(0);
    expect(readFileSync(target, 'utf8')).toBe('keep me');
    expect(String(viaLink.lines.find((l) => l.msg === 'register exiting')?.terminationMessage)).toMatch(/^not written \(ELOOP\)/);

    const absent = join(p.dir, 'no-such-termination-log');
    const noFile = await runCli(['register'], { ...p.env, ENTITLEMENT_TERMINATION_MESSAGE_PATH: absent });
    expect(noFile.code).toBe(0);
    expect(existsSync(absent)).toBe(false);
  });

  it('keeps the session token AWS quotes back (a wrong secret) out of the termination message, stdout and stderr', async () => {
    const emu = await emulator();
    const token = `IQoJb3JpZ2luX2VjE${'Zm9vYmFy'.repeat(40)}`;
    const p = pod(emu, { AWS_SECRET_ACCESS_KEY: 'wrong', AWS_SESSION_TOKEN: token });
    const r = await runCli(['register'], p.env);
    expect(r.code).toBe(REGISTER_EXIT_CODES.misconfigured);
    // The emulator, like AWS, quoted the canonical request (the token in it): the scrubbing keeps it out.
    expect(emu.calls().at(-1)?.outcome).toBe('InvalidSignatureException');
    expect(p.message()).toMatch(/^misconfigured \(CREDENTIALS_REJECTED\): .*does not match the signature/s);
    for (const text of [p.message(), r.stdout, r.stderr]) {
      expect(text).not.toContain(token.slice(0, 40));
      expect(text).not.toContain('x-amz-security-token:');
    }
  });

  it('on a full volume: exits 6 (ENTITLEMENT_WRITE_FAILED) with the reason, and leaves no file or half-written temporary behind', async () => {
    const emu = await emulator();
    const volume = await privateTmpfs(64 * 1024);
    fillVolume(join(volume.view, 'filler'));
    expect(statfsSync(volume.view).bavail).toBe(0);
    const p = pod(emu, { ENTITLEMENT_FILE: join(volume.dir, 'entitlement.json') });
    const child = startCli(['register'], p.env, volume.wrapper);
    const { code } = await child.exited;
    expect(code).toBe(REGISTER_EXIT_CODES.failed);
    expect(emu.state().totalCalls).toBe(1);
    expect(p.message()).toMatch(/^failed \(ENTITLEMENT_WRITE_FAILED\): writing .*entitlement\.json failed \(ENOSPC\)\. Action: /);
    expect(readdirSync(volume.view)).toEqual(['filler']);
  });

  it('SIGTERM before RegisterUsage answers: exits 143 at once, records nothing, says so', async () => {
    // The endpoint takes a minute to answer; the pod is deleted meanwhile.
    const emu = await emulator({ latencyMs: 60_000 });
    const p = pod(emu);
    const child = startCli(['register'], p.env);
    await child.waitForLine((l) => String(l.msg).startsWith('credentials: '));
    child.child.kill('SIGTERM');
    const { code } = await child.exited;
    expect(code).toBe(SIGNAL_EXIT_CODES.SIGTERM);
    expect(p.message()).toMatch(/^stopped by SIGTERM before RegisterUsage had an outcome/);
    expect(existsSync(p.file)).toBe(false);
    expect(existsSync(denialPathFor(p.file))).toBe(false);
  });
});
