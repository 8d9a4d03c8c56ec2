import { describe, expect, it } from 'vitest';
import { HOUR_MS } from '../../../src/shared/time.js';
import { MAX_RECORD_QUANTITY } from '../../../src/usage/ledger.js';
import { tempDir } from '../../helpers/tmp.js';
import { FaultyDisk } from '../../helpers/faulty-disk.js';
import { emulatorAt, manualClock, recorded, report, settleAll, sidecarAt, startOfTest, usageAt } from '../../helpers/usage.js';

describe('shutdown with usage metering', () => {
  it('says at error how many units per dimension AWS has not recorded (above the per-record cap), never "all usage sent"; a restart sends them in the next hour', async () => {
    const clock = manualClock(startOfTest());
    const emu = await emulatorAt(clock);
    const dir = tempDir();
    const first = await sidecarAt(emu, clock, dir);
    for (let i = 0; i < 2; i++) expect((await report(first.usage.address.port, { dimension: 'requests', quantity: MAX_RECORD_QUANTITY })).status).toBe(202);
    await first.stop();
    // One record per hour and dimension, at most 2147483647 units: the second report waits for the next hour.
    expect(recorded(emu)).toEqual({ requests: MAX_RECORD_QUANTITY });
    const stopping = first.logs.lines.find((l) => l.msg.startsWith('stopping with'));
    expect(stopping).toMatchObject({ level: 'error', unsentUnits: { requests: MAX_RECORD_QUANTITY }, unsettledRecords: 0 });
    expect(stopping?.msg).toContain(`stopping with ${MAX_RECORD_QUANTITY} usage units not recorded by AWS`);
    expect(first.logs.lines.some((l) => l.msg === 'all usage sent')).toBe(false);

    const second = await sidecarAt(emu, clock, dir);
    clock.advance(2 * HOUR_MS);
    await settleAll(second.usage, clock);
    expect(recorded(emu)).toEqual({ requests: 2 * MAX_RECORD_QUANTITY });
    await second.stop();
    expect(second.logs.lines.find((l) => l.msg === 'all usage sent')).toMatchObject({ level: 'info', unsentUnits: {} });
  });

  it('on a volume that fails every write, stop() resolves (no crash) and names the units left per dimension', async () => {
    const clock = manualClock(startOfTest());
    const emu = await emulatorAt(clock);
    const disk = new FaultyDisk();
    const { port, stop, logs } = await usageAt(emu, clock, tempDir(), { openJournalHandle: disk.open });
    expect((await report(port, { dimension: 'gb_scanned', quantity: 12 })).status).toBe(202);
    expect((await report(port, { dimension: 'requests', quantity: 3 })).status).toBe(202);
    disk.failAfter(0);
    // The shutdown's records cannot be journaled, so they are not sent: a restart could not know them.
    const summary = await stop();
    expect(summary).toEqual({ unsentUnits: { gb_scanned: 12, requests: 3 }, unsettledRecords: 0, unjournaledResults: 0 });
    expect(emu.records()).toEqual([]);
    expect(logs.lines.find((l) => l.msg.startsWith('stopping with 15 usage units'))).toMatchObject({ level: 'error', unsentUnits: { gb_scanned: 12, requests: 3 } });
  });
});
