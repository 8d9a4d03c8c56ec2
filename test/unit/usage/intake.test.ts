import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRecorder, type UsageReport } from '../../../src/usage/intake.js';
import { UsageJournal } from '../../../src/usage/journal.js';
import { UsageLedger } from '../../../src/usage/ledger.js';
import { DEFAULT_JOURNAL_MAX_BYTES, journalLimits } from '../../../src/usage/volume.js';
import { captureLogs } from '../../helpers/logs.js';
import { tempDir } from '../../helpers/tmp.js';
import { FaultyDisk, gatedWrite } from '../../helpers/faulty-disk.js';

const at = Date.UTC(2026, 10, 23, 9, 30);
const report = (id: string | undefined, quantity: number): UsageReport => ({ dimension: 'gb', quantity, tags: undefined, id });

async function recorderOn(path: string, disk: FaultyDisk) {
  const ledger = new UsageLedger();
  const journal = await UsageJournal.open({ path, ledger, logger: captureLogs().logger, dimensions: ['gb'], limits: journalLimits(DEFAULT_JOURNAL_MAX_BYTES), openHandle: disk.open });
  return { ledger, journal, record: createRecorder({ ledger, journal, now: () => at }) };
}

async function unitsAfterRestart(path: string): Promise<Map<string, number>> {
  const ledger = new UsageLedger();
  const journal = await UsageJournal.open({ path, ledger, logger: captureLogs().logger, dimensions: ['gb'], limits: journalLimits(DEFAULT_JOURNAL_MAX_BYTES) });
  await journal.close();
  return ledger.pendingUnits();
}

/** A gate the test opens by hand: the write it holds is in flight until then. */
function gate() {
  let open: () => void = () => undefined;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

describe('a report whose id is being written already', () => {
  it('waits for that write; when it fails nothing was recorded, so the retry is written itself, never called a duplicate', async () => {
    const path = join(tempDir(), 'usage-journal.ndjson');
    const disk = new FaultyDisk();
    const { ledger, journal, record } = await recorderOn(path, disk);
    const g = gate();
    disk.writes.push(gatedWrite(g.opened, 'ENOSPC'));
    const first = record(report('job-1', 5));
    // The retry arrives while the first write is in flight (registered before record() returned).
    const retry = record(report('job-1', 5));
    g.open();
    expect(await first).toEqual({ refused: 'write_failed', code: 'ENOSPC' });
    expect(await retry).toBe('accepted');
    expect(ledger.pendingUnits()).toEqual(new Map([['gb', 5]]));
    await journal.close();
    expect(await unitsAfterRestart(path)).toEqual(new Map([['gb', 5]]));
  });

  it('waits for that write; when it becomes durable the retry is a duplicate, counted once', async () => {
    const path = join(tempDir(), 'usage-journal.ndjson');
    const disk = new FaultyDisk();
    const { ledger, journal, record } = await recorderOn(path, disk);
    const g = gate();
    disk.writes.push(gatedWrite(g.opened));
    const first = record(report('job-2', 7));
    const retry = record(report('job-2', 7));
    g.open();
    expect([await first, await retry]).toEqual(['accepted', 'duplicate']);
    expect(ledger.pendingUnits()).toEqual(new Map([['gb', 7]]));
    await journal.close();
    expect(await unitsAfterRestart(path)).toEqual(new Map([['gb', 7]]));
  });

  it('with several retries racing a failed write, exactly one is written and the others are its duplicates', async () => {
    const path = join(tempDir(), 'usage-journal.ndjson');
    const disk = new FaultyDisk();
    const { ledger, journal, record } = await recorderOn(path, disk);
    const g = gate();
    disk.writes.push(gatedWrite(g.opened, 'EIO'));
    const posts = [record(report('job-3', 2)), record(report('job-3', 2)), record(report('job-3', 2)), record(report('job-3', 2))];
    g.open();
    const outcomes = await Promise.all(posts);
    expect(outcomes[0]).toEqual({ refused: 'write_failed', code: 'EIO' });
    expect(outcomes.slice(1).sort()).toEqual(['accepted', 'duplicate', 'duplicate']);
    expect(ledger.pendingUnits()).toEqual(new Map([['gb', 2]]));
    await journal.close();
  });

  it('reports without an id are never duplicates of each other', async () => {
    const path = join(tempDir(), 'usage-journal.ndjson');
    const { ledger, journal, record } = await recorderOn(path, new FaultyDisk());
    expect(await Promise.all([record(report(undefined, 1)), record(report(undefined, 1))])).toEqual(['accepted', 'accepted']);
    expect(ledger.pendingUnits()).toEqual(new Map([['gb', 2]]));
    await journal.close();
  });
});
