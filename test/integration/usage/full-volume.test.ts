import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HOUR_MS } from '../../../src/shared/time.js';
import { UsageJournal } from '../../../src/usage/journal.js';
import { UsageLedger } from '../../../src/usage/ledger.js';
import { DEFAULT_JOURNAL_MAX_BYTES, journalLimits } from '../../../src/usage/volume.js';
import { captureLogs } from '../../helpers/logs.js';
import { tempDir } from '../../helpers/tmp.js';
import { failWrite, FaultyDisk, shortWrite } from '../../helpers/faulty-disk.js';
import { DIMENSIONS, emulatorAt, manualClock, recorded, settleAll, startOfTest, usageAt } from '../../helpers/usage.js';

async function post(port: number, body: unknown) {
  const res = await fetch(`http://127.0.0.1:${port}/v1/usage`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as Record<string, unknown> };
}

/** What a journal on `dir` holds, as a restarted sidecar would find it. */
async function reopened(dir: string) {
  const ledger = new UsageLedger();
  const logs = captureLogs();
  const journal = await UsageJournal.open({ path: join(dir, 'usage-journal.ndjson'), ledger, logger: logs.logger, dimensions: DIMENSIONS, limits: journalLimits(DEFAULT_JOURNAL_MAX_BYTES) });
  await journal.close();
  return { ledger, logs };
}

const meterCalls = (emu: Awaited<ReturnType<typeof emulatorAt>>) => emu.calls().filter((c) => c.operation === 'MeterUsage');

describe('usage metering when the journal is at its bound', () => {
  it('answers 503 (nothing recorded), still makes and sends the records it holds, and takes reports again once they are sent, without a restart', async () => {
    const clock = manualClock(startOfTest());
    const emu = await emulatorAt(clock);
    const dir = tempDir();
    const limits = journalLimits(8 * 1024);
    const { port, runtime, registry, logs } = await usageAt(emu, clock, dir, { journalLimits: limits });
    // A tag set per report: nothing for compaction to merge, so the journal really fills.
    let accepted = 0;
    let refused: Awaited<ReturnType<typeof post>> | undefined;
    for (let i = 0; i < 1000 && refused === undefined; i++) {
      const r = await post(port, { dimension: 'requests', quantity: 1, tags: { job: `job-${i}` } });
      if (r.status === 202) accepted++;
      else refused = r;
    }
    expect(refused).toMatchObject({ status: 503, retryAfter: '30', body: { reason: 'journal_full' } });
    expect(String(refused?.body.error)).toMatch(/nothing was recorded/);
    expect(accepted).toBeGreaterThan(20);
    expect(runtime.ledger.pendingUnits().get('requests')).toBe(accepted);
    expect(statSync(join(dir, 'usage-journal.ndjson')).size).toBeLessThanOrEqual(limits.intakeBytes);
    expect(logs.lines.filter((l) => l.msg.startsWith('usage journal full'))).toHaveLength(1);

    // The hour closes: its record does not fit the room left, so it is written through a compaction, and sent.
    clock.advance(HOUR_MS);
    await settleAll(runtime, clock);
    expect(recorded(emu)).toEqual({ requests: accepted });
    expect(logs.lines.some((l) => l.msg === 'usage journal compacted' && l.took === 1)).toBe(true);
    expect(statSync(join(dir, 'usage-journal.ndjson')).size).toBeLessThanOrEqual(limits.maxBytes);

    // Sent and compacted: room again.
    await runtime.forwarder.tick();
    expect((await post(port, { dimension: 'requests', quantity: 1, tags: { job: 'after' } })).status).toBe(202);
    expect(logs.lines.some((l) => l.msg === 'usage journal accepts reports again')).toBe(true);
    const metrics = await registry.metrics();
    expect(metrics).toContain('marketplace_entitlement_usage_refused_reports_total{reason="journal_full"} 1');
    expect(metrics).toMatch(/marketplace_entitlement_usage_journal_bytes \d+/);
  });
});

describe('usage metering on a volume that fails writes (ENOSPC)', () => {
  it('still sends: a result AWS gave is kept in memory, the record is not sent again, and the result is journaled once there is room', async () => {
    const clock = manualClock(startOfTest());
    const emu = await emulatorAt(clock);
    const dir = tempDir();
    const disk = new FaultyDisk();
    const { port, runtime, registry, logs } = await usageAt(emu, clock, dir, { openJournalHandle: disk.open });
    for (const q of [3, 4]) expect((await post(port, { dimension: 'gb_scanned', quantity: q })).status).toBe(202);
    clock.advance(HOUR_MS);
    // The record's line is written; then the volume is full.
    disk.failAfter(1);
    await runtime.forwarder.tick();
    expect(recorded(emu)).toEqual({ gb_scanned: 7 });
    expect(meterCalls(emu)).toHaveLength(1);
    expect(logs.lines.some((l) => l.level === 'error' && l.msg.startsWith('usage journal write failed'))).toBe(true);
    // A report now is refused, saying why; nothing recorded.
    expect(await post(port, { dimension: 'gb_scanned', quantity: 1 })).toMatchObject({ status: 503, body: { reason: 'write_failed' } });
    expect(await registry.metrics()).toContain('marketplace_entitlement_usage_pending_units{dimension="gb_scanned"} 0');

    // Still full: the record is not sent again.
    clock.advance(60_000);
    await runtime.forwarder.tick();
    expect(meterCalls(emu)).toHaveLength(1);

    // Room again: the result is journaled, and reports are accepted, without a restart.
    disk.heal();
    await runtime.forwarder.tick();
    expect(logs.lines.some((l) => l.msg === 'usage results held in memory are journaled now')).toBe(true);
    expect(runtime.ledger.unsettled()).toEqual([]);
    expect((await post(port, { dimension: 'gb_scanned', quantity: 1 })).status).toBe(202);
    const after = await reopened(dir);
    expect(after.ledger.unsettled()).toEqual([]);
    expect(after.ledger.pendingUnits()).toEqual(new Map([['gb_scanned', 1]]));
  });

  it('after a restart before the result was journaled, resends the same record with its ClientToken; AWS answers idempotently: counted once', async () => {
    const clock = manualClock(startOfTest());
    const emu = await emulatorAt(clock);
    const dir = tempDir();
    const disk = new FaultyDisk();
    const first = await usageAt(emu, clock, dir, { openJournalHandle: disk.open });
    expect((await post(first.port, { dimension: 'requests', quantity: 9 })).status).toBe(202);
    clock.advance(HOUR_MS);
    disk.failAfter(1);
    await first.runtime.forwarder.tick();
    const summary = await first.stop();
    expect(summary).toEqual({ unsentUnits: {}, unsettledRecords: 0, unjournaledResults: 1 });
    expect(first.logs.lines.find((l) => l.msg.startsWith('all usage reached AWS, but some results could not be journaled'))?.level).toBe('warn');
    expect(first.logs.lines.some((l) => l.msg === 'all usage sent')).toBe(false);

    // The journal still holds the record unsettled: the restarted sidecar sends it again, the same record.
    const second = await usageAt(emu, clock, dir);
    expect(second.runtime.ledger.unsettled()).toEqual([]);
    expect(meterCalls(emu).map((c) => c.outcome)).toEqual(['success', 'success']);
    expect(emu.records()).toHaveLength(1);
    expect(recorded(emu)).toEqual({ requests: 9 });
  });

  it('never lets a failed write leave a torn line or NUL bytes for the next start', async () => {
    const clock = manualClock(startOfTest());
    const emu = await emulatorAt(clock);
    const dir = tempDir();
    const disk = new FaultyDisk();
    const { port } = await usageAt(emu, clock, dir, { openJournalHandle: disk.open });
    let accepted = 0;
    for (let i = 0; i < 40; i++) {
      // Every fifth report's write stops part-way: the kernel wrote some bytes, then the volume was full.
      if (i % 5 === 4) disk.writes.push(shortWrite(9 + i), failWrite('ENOSPC'));
      const r = await post(port, { dimension: 'gb_scanned', quantity: 1, id: `r-${i}` });
      if (r.status === 202) accepted++;
      else expect(r).toMatchObject({ status: 503, body: { reason: 'write_failed' } });
    }
    expect(accepted).toBe(32);
    expect(readFileSync(join(dir, 'usage-journal.ndjson')).includes(0)).toBe(false);
    const after = await reopened(dir);
    expect(after.ledger.pendingUnits()).toEqual(new Map([['gb_scanned', 32]]));
    expect(after.logs.lines.some((l) => l.msg.startsWith('usage journal has invalid lines'))).toBe(false);
  });
});
