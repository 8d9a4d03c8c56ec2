/**
 * One seat per pod, as real processes: the built CLI against the emulator's License Manager, killed
 * with SIGKILL and restarted in the same pod (the shared volume: a directory), stopped with SIGTERM.
 * The emulator runs on the machine's clock, as the processes sign with it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Emulator } from '../../../src/emulator/index.js';
import { seatPathFor } from '../../../src/sidecar/license-seat.js';
import { CREDENTIAL, emulator, sidecarAwsEnv } from '../../helpers/emulator.js';
import { startCli } from '../../helpers/process.js';
import { tempDir } from '../../helpers/tmp.js';

const SKU = '7a1c2b3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';

function podEnv(emu: Emulator, dir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...sidecarAwsEnv(emu, dir),
    AWS_ENDPOINT_URL_LICENSE_MANAGER: emu.url,
    ENTITLEMENT_SOURCE: 'license-manager',
    MARKETPLACE_PRODUCT_SKU: SKU,
    MARKETPLACE_LICENSE_ENTITLEMENTS: 'Nodes:Count:1',
    ENTITLEMENT_FILE: join(dir, 'entitlement.json'),
    ENTITLEMENT_LISTEN: '127.0.0.1:0',
    ...extra,
  };
}

const inUse = (emu: Emulator) => emu.licenses()[0]?.entitlements[0]?.inUse;

describe('a floating seat through kill -9, restarts and SIGTERM', () => {
  it('a sidecar killed with SIGKILL leaves its seat recorded; the restarted one reuses it; SIGTERM checks it in', async () => {
    const emu = await emulator({}, { licenses: [{ beneficiaryAccountId: CREDENTIAL.accountId, productSku: SKU, entitlements: [{ name: 'Nodes', unit: 'Count', maxCount: 1 }] }] });
    const dir = tempDir();
    const env = podEnv(emu, dir);

    const first = startCli(['run'], env);
    await first.waitForLine((l) => l.msg === 'entitled');
    expect(inUse(emu)).toBe(1);
    first.child.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');
    // Nothing was given back: the record of the seat is on the volume, the seat still taken.
    expect(existsSync(seatPathFor(env.ENTITLEMENT_FILE as string))).toBe(true);
    expect(inUse(emu)).toBe(1);

    // The container restarts in the same pod: the pool of one seat is full, yet it is entitled, on the same seat.
    const second = startCli(['run'], env);
    await second.waitForLine((l) => l.msg === 'entitled');
    expect(second.lines().some((l) => String(l.msg).includes('reusing the seat an earlier run in this pod holds'))).toBe(true);
    expect(emu.consumptions()).toHaveLength(1);
    expect(inUse(emu)).toBe(1);

    second.child.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
    expect(second.lines().some((l) => l.msg === 'license checked in')).toBe(true);
    expect(inUse(emu)).toBe(0);
    expect(existsSync(seatPathFor(env.ENTITLEMENT_FILE as string))).toBe(false);

    // The consumption token is the sidecar's own: in no log line, and only in the 0600 record while held.
    const token = emu.consumptions()[0]?.token as string;
    expect(token.length).toBeGreaterThan(10);
    for (const p of [first, second]) expect(p.stdout() + p.stderr()).not.toContain(token);
    expect(existsSync(env.ENTITLEMENT_FILE as string) ? readFileSync(env.ENTITLEMENT_FILE as string, 'utf8') : '').not.toContain(token);
  });

  it('a second pod waits for the only seat and takes it once the first pod stops, without a restart', async () => {
    const emu = await emulator({}, { licenses: [{ beneficiaryAccountId: CREDENTIAL.accountId, productSku: SKU, entitlements: [{ name: 'Nodes', unit: 'Count', maxCount: 1 }] }] });
    const a = startCli(['run'], podEnv(emu, tempDir()));
    await a.waitForLine((l) => l.msg === 'entitled');
    // The second pod checks every second (a test setting; 15 minutes in production).
    const b = startCli(['run'], podEnv(emu, tempDir(), { ENTITLEMENT_LICENSE_CHECK_INTERVAL: '1s' }));
    await b.waitForLine((l) => l.code === 'NO_LICENSE' && l.level === 'error');
    a.child.kill('SIGTERM');
    expect((await a.exited).code).toBe(0);
    await b.waitForLine((l) => l.msg === 'entitled');
    expect(inUse(emu)).toBe(1);
    b.child.kill('SIGTERM');
    expect((await b.exited).code).toBe(0);
    expect(inUse(emu)).toBe(0);
  });

  it('SIGTERM while License Manager fails still exits 0, saying the seat returns by itself', async () => {
    const emu = await emulator({}, { licenses: [{ beneficiaryAccountId: CREDENTIAL.accountId, productSku: SKU, entitlements: [{ name: 'Nodes', unit: 'Count', maxCount: 1 }] }] });
    const p = startCli(['run'], podEnv(emu, tempDir()));
    await p.waitForLine((l) => l.msg === 'entitled');
    emu.setScenario({ internalError: 100, faultOperations: ['CheckInLicense'] });
    p.child.kill('SIGTERM');
    expect((await p.exited).code).toBe(0);
    expect(p.lines().some((l) => String(l.msg).includes('the seat returns by itself at its expiry'))).toBe(true);
    expect(inUse(emu)).toBe(1);
  });
});
