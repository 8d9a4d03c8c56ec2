import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HOUR_MS, startOfHour } from '../../../src/shared/time.js';
import type { JournalLine } from '../../../src/usage/ledger.js';
import { tempDir } from '../../helpers/tmp.js';
import { DIMENSIONS, emulatorAt, manualClock, recorded, report, reportRandomly, settleAll, sidecarAt, startOfTest } from '../../helpers/usage.js';

describe('usage metering through the sidecar, against the emulator', () => {
  it('dry-runs each dimension at start, never sends an hour early, then sends each closed hour once, totals exact', async () => {
    const clock = manualClock(startOfTest());
    const emu = await emulatorAt(clock);
    const { snapshot, usage } = await sidecarAt(emu, clock, tempDir());
    expect(snapshot.code).toBe('ENTITLED');
    expect(emu.calls().filter((c) => c.operation === 'MeterUsage').length).toBe(DIMENSIONS.length);
    expect(emu.records()).toEqual([]);

    const hour = startOfHour(clock.now());
    const totals = await reportRandomly(usage.address.port, 7, 60);
    clock.advance(HOUR_MS - 11 * 60_000); // 59 minutes into the hour: still open
    await usage.forwarder.tick();
    expect(emu.records()).toEqual([]);

    clock.advance(3 * 60_000); // the hour closed 2 minutes ago
    await settleAll(usage, clock);
    expect(recorded(emu)).toEqual(totals);
    const records = emu.records().filter((r) => r.operation === 'MeterUsage');
    expect(records.every((r) => Date.parse(r.hour) === hour)).toBe(true);
    expect(records).toHaveLength(Object.keys(totals).length);
    // Tagged usage went as allocations whose quantities add up to the record's.
    for (const r of records) expect((r.allocations ?? []).reduce((n, a) => n + a.quantity, 0) || r.quantity).toBe(r.quantity);
  });

  it('keeps totals exact through throttling and server errors, without a duplicate', async () => {
    const clock = manualClock(startOfTest());
    const emu = await emulatorAt(clock);
    const { usage, logs } = await sidecarAt(emu, clock, tempDir());
    const totals = await reportRandomly(usage.address.port, 11, 40);
    emu.setScenario({ throttle: 3, internalError: 2, faultOperations: ['MeterUsage'] });
    clock.advance(HOUR_MS);
    await settleAll(usage, clock);
    expect(recorded(emu)).toEqual(totals);
    expect(emu.calls().some((c) => c.outcome === 'DuplicateRequestException')).toBe(false);
    expect(logs.lines.filter((l) => l.msg === 'MeterUsage failed transiently; retrying the same record').length).toBeGreaterThanOrEqual(5);
  });

  it('continues from the journal after a restart in the same pod without sending anything twice', async () => {
    const clock = manualClock(startOfTest());
    const emu = await emulatorAt(clock);
    const dir = tempDir();
    const first = await sidecarAt(emu, clock, dir);
    const a = await reportRandomly(first.usage.address.port, 3, 10);
    // SIGTERM: the pod's current hour goes out before exit.
    await first.stop();
    expect(recorded(emu)).toEqual(a);

    const second = await sidecarAt(emu, clock, dir);
    const b = await reportRandomly(second.usage.address.port, 5, 10);
    // Hour H already has its record (sent at the first shutdown): these units go into hour H+1's.
    clock.advance(2 * HOUR_MS);
    await settleAll(second.usage, clock);
    const sum: Record<string, number> = { ...a };
    for (const [d, q] of Object.entries(b)) sum[d] = (sum[d] ?? 0) + q;
    expect(recorded(emu)).toEqual(sum);
    expect(emu.calls().some((c) => c.outcome === 'DuplicateRequestException')).toBe(false);
  });

  it('answers 400 naming the problem, and counts a report with a seen id once', async () => {
    const clock = manualClock(startOfTest());
    const emu = await emulatorAt(clock);
    const { usage } = await sidecarAt(emu, clock, tempDir());
    const port = usage.address.port;
    expect(await report(port, { dimension: 'nope', quantity: 1 })).toMatchObject({ status: 400, body: { error: 'dimension must be one of: gb_scanned, requests' } });
    expect((await report(port, { dimension: 'requests', quantity: 1.5 })).body.error).toBe('quantity must be an integer from 0 to 2147483647');
    expect((await report(port, { dimension: 'requests', quantity: -1 })).status).toBe(400);
    expect((await report(port, { dimension: 'requests', quantity: 1, tags: { 'bad!': 'x' } })).body.error).toMatch(/tag name "bad!" must be 1-100 characters/);
    expect((await report(port, { dimension: 'requests', quantity: 1, tags: { a: '1', b: '2', c: '3', d: '4', e: '5', f: '6' } })).body.error).toBe('tags must hold 1 to 5 tags');
    expect((await report(port, { dimension: 'requests', quantity: 4, id: 'r-1' })).status).toBe(202);
    expect(await report(port, { dimension: 'requests', quantity: 4, id: 'r-1' })).toMatchObject({ status: 200, body: { duplicate: true } });
    clock.advance(HOUR_MS);
    await settleAll(usage, clock);
    expect(recorded(emu)).toEqual({ requests: 4 });
  });

  it('carries usage AWS refuses as a duplicate (its journal was lost) into the next hour', async () => {
    const clock = manualClock(startOfTest());
    const emu = await emulatorAt(clock);
    const dir = tempDir();
    const first = await sidecarAt(emu, clock, dir);
    expect((await report(first.usage.address.port, { dimension: 'requests', quantity: 10 })).status).toBe(202);
    await first.stop();
    rmSync(join(dir, 'usage-journal.ndjson'));

    const second = await sidecarAt(emu, clock, dir);
    expect((await report(second.usage.address.port, { dimension: 'requests', quantity: 7 })).status).toBe(202);
    // Its shutdown sends the same hour again, with another quantity: AWS refuses it; the units stay pending.
    await second.stop();
    expect(emu.calls().some((c) => c.outcome === 'DuplicateRequestException')).toBe(true);
    expect(second.logs.lines.some((l) => l.msg.startsWith('usage carried forward') && l.awsError === 'DuplicateRequestException')).toBe(true);

    const third = await sidecarAt(emu, clock, dir);
    // Carried units of hour H go into hour H+1's record, sent once H+1 has closed.
    clock.advance(2 * HOUR_MS);
    await settleAll(third.usage, clock);
    expect(recorded(emu)).toEqual({ requests: 17 });
  });

  it('carries a record that fell out of the time window, but never resends one whose first attempt may have landed', async () => {
    const clock = manualClock(startOfTest());
    const emu = await emulatorAt(clock);
    const dir = tempDir();
    const old = startOfHour(clock.now()) - 8 * HOUR_MS;
    const lines: JournalLine[] = [
      { k: 'u', at: old, d: 'requests', q: 5 },
      { k: 's', tok: 'clean-old-record', h: old, d: 'requests', from: [[old, '', 5]] },
      { k: 'u', at: old, d: 'gb_scanned', q: 9 },
      { k: 's', tok: 'maybe-delivered', h: old, d: 'gb_scanned', from: [[old, '', 9]] },
      { k: 'x', tok: 'maybe-delivered' },
    ];
    writeFileSync(join(dir, 'usage-journal.ndjson'), lines.map((l) => `${JSON.stringify(l)}\n`).join(''));
    const { usage, logs } = await sidecarAt(emu, clock, dir);
    clock.advance(HOUR_MS);
    await settleAll(usage, clock);
    expect(emu.calls().filter((c) => c.outcome === 'TimestampOutOfBoundsException')).toHaveLength(2);
    // The clean record's units went into a current hour's record; the ambiguous one's were not resent.
    expect(recorded(emu)).toEqual({ requests: 5 });
    expect(logs.lines.some((l) => l.level === 'error' && l.msg.startsWith('usage unreconciled') && l.quantity === 9)).toBe(true);
  });
});

describe('the journal a sidecar finds on the volume', () => {
  it('skips lines that fail the intake rules and says how many; a backlog never becomes a string or negative', async () => {
    const clock = manualClock(startOfTest());
    const emu = await emulatorAt(clock);
    const dir = tempDir();
    const at = clock.now() - 60_000;
    const lines = [
      { k: 'u', at, d: 'requests', q: 5 },
      { k: 'u', at, d: 'requests', q: '5' },
      { k: 'u', at, d: 'requests', q: -1000 },
      { k: 'u', at, d: 'gb_scanned', q: 2.5 },
      { k: 'u', at, d: 'not-a-dimension', q: 7 },
      { k: 'u', at, d: 'gb_scanned', q: 2 },
    ];
    writeFileSync(join(dir, 'usage-journal.ndjson'), lines.map((l) => `${JSON.stringify(l)}\n`).join(''));
    const { usage, logs } = await sidecarAt(emu, clock, dir);
    const state = (await (await fetch(`http://127.0.0.1:${usage.address.port}/v1/usage`)).json()) as { pendingUnits: Record<string, unknown> };
    expect(state.pendingUnits).toEqual({ requests: 5, gb_scanned: 2 });
    expect(logs.lines.find((l) => l.msg.startsWith('usage journal has invalid lines'))).toMatchObject({ level: 'error', invalid: 4 });
    clock.advance(HOUR_MS);
    await settleAll(usage, clock);
    expect(recorded(emu)).toEqual({ requests: 5, gb_scanned: 2 });
  });

  it('refuses a journal path that is a symbolic link: USAGE_UNAVAILABLE, and the file it points to, outside the volume, is untouched', async () => {
    const clock = manualClock(startOfTest());
    const emu = await emulatorAt(clock);
    const outside = join(tempDir(), 'not-yours.txt');
    // No newline at its end: a journal opener that followed the link would cut this off as a torn line.
    writeFileSync(outside, 'somebody else\'s file');
    const dir = tempDir();
    symlinkSync(outside, join(dir, 'usage-journal.ndjson'));
    const { snapshot, usage } = await sidecarAt(emu, clock, dir);
    expect(snapshot).toMatchObject({ status: 'failed', code: 'USAGE_UNAVAILABLE' });
    expect(snapshot.message).toContain(`${join(dir, 'usage-journal.ndjson')} is a symbolic link; it is not followed`);
    expect(usage).toBeUndefined();
    expect(readFileSync(outside, 'utf8')).toBe("somebody else's file");
    expect(existsSync(join(dir, 'entitlement.json'))).toBe(false);
  });

  it('refuses a FIFO at the journal path at once rather than hang reading it', async () => {
    const clock = manualClock(startOfTest());
    const emu = await emulatorAt(clock);
    const dir = tempDir();
    execFileSync('mkfifo', [join(dir, 'usage-journal.ndjson')]);
    const { snapshot } = await sidecarAt(emu, clock, dir);
    expect(snapshot).toMatchObject({ code: 'USAGE_UNAVAILABLE' });
    expect(snapshot.message).toContain('is a FIFO, not a regular file');
  });
});

describe('the MeterUsage dry run at start', () => {
  it('turns an unknown dimension into a misconfigured status: no entitlement file, no intake', async () => {
    const clock = manualClock(startOfTest());
    const emu = await emulatorAt(clock, {}, ['gb_scanned']);
    const dir = tempDir();
    const { snapshot, usage } = await sidecarAt(emu, clock, dir);
    expect(snapshot).toMatchObject({ status: 'misconfigured', code: 'USAGE_DIMENSION_INVALID', awsError: 'InvalidUsageDimensionException' });
    expect(snapshot.message).toContain('dimension "requests"');
    expect(usage).toBeUndefined();
    expect(existsSync(join(dir, 'entitlement.json'))).toBe(false);
  });

  it('turns any other refusal into METERING_DRY_RUN_FAILED', async () => {
    const clock = manualClock(startOfTest());
    const emu = await emulatorAt(clock, { mode: 'disabled-api', faultOperations: ['MeterUsage'] });
    const { snapshot } = await sidecarAt(emu, clock, tempDir());
    expect(snapshot).toMatchObject({ status: 'misconfigured', code: 'METERING_DRY_RUN_FAILED', awsError: 'DisabledApiException' });
  });

  it('retries a throttled dry run and then starts', async () => {
    const clock = manualClock(startOfTest());
    const emu = await emulatorAt(clock, { throttle: 2, faultOperations: ['MeterUsage'] });
    const { snapshot, usage } = await sidecarAt(emu, clock, tempDir());
    expect(snapshot.code).toBe('ENTITLED');
    expect(usage).toBeDefined();
    expect(emu.calls().filter((c) => c.operation === 'MeterUsage' && c.outcome === 'ThrottlingException')).toHaveLength(2);
  });
});
