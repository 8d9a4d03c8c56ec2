import { appendFileSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageJournal } from '../../src/usage/journal.js';
import { UsageLedger, type JournalLine } from '../../src/usage/ledger.js';
import { captureLogs } from '../helpers/logs.js';
import { tempDir } from '../helpers/tmp.js';

const at = Date.UTC(2026, 10, 23, 9);

async function openJournal(path: string) {
  const ledger = new UsageLedger();
  const logs = captureLogs();
  const journal = await UsageJournal.open(path, ledger, logs.logger);
  return { ledger, journal, logs };
}

describe('UsageJournal', () => {
  it('replays what was appended, after a reopen', async () => {
    const path = join(tempDir(), 'usage-journal.ndjson');
    const a = await openJournal(path);
    await a.journal.append([{ k: 'u', at, d: 'gb', q: 5 }]);
    await a.journal.append([{ k: 'u', at, d: 'gb', q: 7, id: 'r1' }]);
    expect(a.ledger.pendingUnits()).toEqual(new Map([['gb', 12]]));
    await a.journal.close();
    const b = await openJournal(path);
    expect(b.ledger.pendingUnits()).toEqual(new Map([['gb', 12]]));
    expect(b.ledger.hasIntakeId('r1')).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    await b.journal.close();
  });

  it('cuts off a torn last line (a kill -9 during a write) and appends cleanly after it', async () => {
    const path = join(tempDir(), 'usage-journal.ndjson');
    const a = await openJournal(path);
    await a.journal.append([{ k: 'u', at, d: 'gb', q: 5 }]);
    await a.journal.close();
    appendFileSync(path, '{"k":"u","at":1,"d":"gb","q":9');
    const b = await openJournal(path);
    expect(b.ledger.pendingUnits()).toEqual(new Map([['gb', 5]]));
    expect(b.logs.lines.some((l) => l.msg === 'usage journal replayed' && Number(l.tornTailBytes) > 0)).toBe(true);
    await b.journal.append([{ k: 'u', at, d: 'gb', q: 1 }]);
    await b.journal.close();
    expect(readFileSync(path, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { q: number }).q)).toEqual([5, 1]);
  });

  it('writes concurrent appends in one batch and applies each only once it is durable', async () => {
    const path = join(tempDir(), 'usage-journal.ndjson');
    const { ledger, journal } = await openJournal(path);
    const writes = Array.from({ length: 200 }, (_, i) => journal.append([{ k: 'u', at, d: 'gb', q: 1, id: `r${i}` }]));
    // Nothing is applied before the write and fsync return.
    expect(ledger.pendingUnits().size).toBe(0);
    await Promise.all(writes);
    expect(ledger.pendingUnits()).toEqual(new Map([['gb', 200]]));
    expect(readFileSync(path, 'utf8').trim().split('\n')).toHaveLength(200);
    await journal.close();
  });

  it('compacts atomically while appends keep coming, losing none of them', async () => {
    const path = join(tempDir(), 'usage-journal.ndjson');
    const { ledger, journal } = await openJournal(path);
    for (let i = 0; i < 50; i++) await journal.append([{ k: 'u', at, d: 'gb', q: 2 }]);
    const racing: Promise<void>[] = [];
    const compaction = journal.compact(() => ledger.compacted(0));
    for (let i = 0; i < 20; i++) racing.push(journal.append([{ k: 'u', at, d: 'gb', q: 1 }]));
    await Promise.all([compaction, ...racing]);
    await journal.close();
    const lines = readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as JournalLine);
    expect(lines.length).toBeLessThan(70);
    const reopened = await openJournal(path);
    expect(reopened.ledger.pendingUnits()).toEqual(new Map([['gb', 120]]));
    await reopened.journal.close();
  });

  it('rejects an append it cannot write and applies nothing', async () => {
    const path = join(tempDir(), 'usage-journal.ndjson');
    const { ledger, journal } = await openJournal(path);
    await journal.close(); // the handle is gone: the next write fails as a full or broken disk would
    await expect(journal.append([{ k: 'u', at, d: 'gb', q: 5 }])).rejects.toThrow();
    expect(ledger.pendingUnits().size).toBe(0);
  });
});
