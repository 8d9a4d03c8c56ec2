import { describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../../src/emulator/index.js';
import { sidecarAwsEnv } from '../../helpers/emulator.js';
import { startCli, type CliProcess } from '../../helpers/process.js';
import { tempDir } from '../../helpers/tmp.js';
import { cleanups, DIMENSIONS, PRODUCT, recorded, reportRandomly, usageSettings } from '../../helpers/usage.js';

describe('usage metering as a real process', () => {
  async function start(emu: Emulator, dir: string): Promise<{ p: CliProcess; port: number }> {
    const p = startCli(['run'], { ...sidecarAwsEnv(emu, dir), AWS_SESSION_TOKEN: 'pod-7', ...usageSettings(emu, dir) });
    const line = await p.waitForLine((l) => l.msg === 'usage intake listening');
    return { p, port: Number(String(line.listen).split(':').pop()) };
  }

  it('loses nothing to a kill -9 between intake and send: the restarted sidecar sends it at SIGTERM', async () => {
    const emu = await startEmulator({ region: 'us-east-1', keyBits: 2048, dimensions: DIMENSIONS, productCodes: [PRODUCT] });
    cleanups.push(() => emu.close());
    const dir = tempDir();
    const first = await start(emu, dir);
    const totals = await reportRandomly(first.port, 13, 30);
    first.p.child.kill('SIGKILL');
    await first.p.exited;
    expect(emu.records()).toEqual([]);

    const second = await start(emu, dir);
    second.p.child.kill('SIGTERM');
    expect((await second.p.exited).code).toBe(0);
    expect(second.p.lines().some((l) => l.msg === 'all usage sent')).toBe(true);
    expect(recorded(emu)).toEqual(totals);
  });
});
