import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileRefusedError } from '../../src/regular-file.js';
import type { OpenJournalHandle } from '../../src/usage/journal-file.js';
import { MAX_REPLAY_BYTES, UsageJournal } from '../../src/usage/journal.js';
import { HOUR_MS, UsageLedger, type JournalLine } from '../../src/usage/ledger.js';
import { captureLogs } from '../helpers/logs.js';
import { tempDir } from '../helpers/tmp.js';
import { failWrite, FaultyDisk, shortWrite } from './faults.js';

const at = Date.UTC(2026, 10, 23, 9);
const H = Date.UTC(2026, 10, 23, 9);

async function openJournal(path: string, o: { openHandle?: OpenJournalHandle } = {}) {
  const ledger = new UsageLedger();
  const logs = captureLogs();
  const journal = await UsageJournal.open({ path, ledger, logger: logs.logger, dimensions: ['gb', 'req'], ...(o.openHandle === undefined ? {} : { openHandle: o.openHandle }) });
  return { ledger, journal, logs };
}

const lineOf = (l: JournalLine) => `${JSON.stringify(l)}\n`;
const linesIn = (path: string) => readFileSync(path, 'utf8').split('\n').filter((l) => l !== '');

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
    expect(linesIn(path).map((l) => (JSON.parse(l) as { q: number }).q)).toEqual([5, 1]);
  });

  it('writes concurrent appends in one batch and applies each only once it is durable', async () => {
    const path = join(tempDir(), 'usage-journal.ndjson');
    const { ledger, journal } = await openJournal(path);
    const writes = Array.from({ length: 200 }, (_, i) => journal.append([{ k: 'u', at, d: 'gb', q: 1, id: `r${i}` }]));
    // Nothing is applied before the write and fsync return.
    expect(ledger.pendingUnits().size).toBe(0);
    await Promise.all(writes);
    expect(ledger.pendingUnits()).toEqual(new Map([['gb', 200]]));
    expect(linesIn(path)).toHaveLength(200);
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
    expect(linesIn(path).length).toBeLessThan(70);
    const reopened = await openJournal(path);
    expect(reopened.ledger.pendingUnits()).toEqual(new Map([['gb', 120]]));
    await reopened.journal.close();
  });

  it('rejects an append after close and applies nothing', async () => {
    const path = join(tempDir(), 'usage-journal.ndjson');
    const { ledger, journal } = await openJournal(path);
    await journal.close();
    await expect(journal.append([{ k: 'u', at, d: 'gb', q: 5 }])).rejects.toThrow(/closed/);
    expect(ledger.pendingUnits().size).toBe(0);
  });

  it('removes a compaction copy a kill -9 left behind, at open', async () => {
    const dir = tempDir();
    const path = join(dir, 'usage-journal.ndjson');
    writeFileSync(join(dir, '.usage-journal.ndjson.4242.abcdef012345.tmp'), 'x'.repeat(10_000));
    const { journal, logs } = await openJournal(path);
    expect(readdirSync(dir).sort()).toEqual(['usage-journal.ndjson']);
    expect(logs.lines.find((l) => l.msg === 'usage journal replayed')?.staleCopiesRemoved).toBe(1);
    await journal.close();
  });
});

describe('UsageJournal on a failing disk (faults at the FileHandle boundary)', () => {
  it('a short write then ENOSPC rejects the whole batch and leaves the file exactly as it was: no torn line, no NUL, size exact', async () => {
    const path = join(tempDir(), 'usage-journal.ndjson');
    const disk = new FaultyDisk();
    const { ledger, journal } = await openJournal(path, { openHandle: disk.open });
    await journal.append([{ k: 'u', at, d: 'gb', q: 1 }]);
    const durable = statSync(path).size;
    // The kernel writes what fits in the last page, then has no room for the rest.
    disk.writes.push(shortWrite(10), failWrite('ENOSPC'));
    await expect(journal.append([{ k: 'u', at, d: 'gb', q: 2, id: 'a' }, { k: 'u', at, d: 'gb', q: 3, id: 'b' }])).rejects.toMatchObject({ code: 'ENOSPC' });
    expect(statSync(path).size).toBe(durable);
    expect(journal.size).toBe(durable);
    expect(readFileSync(path).includes(0)).toBe(false);
    expect(ledger.pendingUnits()).toEqual(new Map([['gb', 1]]));
    expect(ledger.hasIntakeId('a')).toBe(false);

    // Space again: the next append lands right after the last durable line.
    await journal.append([{ k: 'u', at, d: 'gb', q: 4 }]);
    expect(journal.size).toBe(statSync(path).size);
    await journal.close();
    expect(linesIn(path).map((l) => (JSON.parse(l) as { q: number }).q)).toEqual([1, 4]);
    const reopened = await openJournal(path);
    expect(reopened.ledger.pendingUnits()).toEqual(new Map([['gb', 5]]));
    expect(reopened.logs.lines.some((l) => l.msg.startsWith('usage journal has invalid lines'))).toBe(false);
    await reopened.journal.close();
  });

  it('completes a short write that is followed by room (POSIX allows short writes without an error)', async () => {
    const path = join(tempDir(), 'usage-journal.ndjson');
    const disk = new FaultyDisk();
    const { journal } = await openJournal(path, { openHandle: disk.open });
    disk.writes.push(shortWrite(7));
    await journal.append([{ k: 'u', at, d: 'gb', q: 2 }]);
    await journal.close();
    expect(linesIn(path)).toEqual([JSON.stringify({ k: 'u', at, d: 'gb', q: 2 })]);
  });

  it('cuts bytes a failed write left behind, when its own truncation failed too, before the next append (fstat, not a counter)', async () => {
    const path = join(tempDir(), 'usage-journal.ndjson');
    const disk = new FaultyDisk();
    const { journal } = await openJournal(path, { openHandle: disk.open });
    await journal.append([{ k: 'u', at, d: 'gb', q: 1 }]);
    const durable = statSync(path).size;
    disk.writes.push(failWrite('EIO', 12));
    disk.truncates.push('EIO');
    await expect(journal.append([{ k: 'u', at, d: 'gb', q: 2 }])).rejects.toMatchObject({ code: 'EIO' });
    expect(statSync(path).size).toBe(durable + 12);
    await journal.append([{ k: 'u', at, d: 'gb', q: 3 }]);
    await journal.close();
    expect(linesIn(path).map((l) => (JSON.parse(l) as { q: number }).q)).toEqual([1, 3]);
  });

  it('rejects a batch whose fsync fails and cuts its bytes off: it was never acknowledged', async () => {
    const path = join(tempDir(), 'usage-journal.ndjson');
    const disk = new FaultyDisk();
    const { ledger, journal } = await openJournal(path, { openHandle: disk.open });
    disk.datasyncs.push('EIO');
    await expect(journal.append([{ k: 'u', at, d: 'gb', q: 2 }])).rejects.toMatchObject({ code: 'EIO' });
    expect(statSync(path).size).toBe(0);
    expect(ledger.pendingUnits().size).toBe(0);
    await journal.close();
  });
});

describe('what the journal path may be', () => {
  it('refuses a symbolic link, and leaves the file it points to (outside the volume) untouched', async () => {
    const outside = join(tempDir(), 'precious.txt');
    writeFileSync(outside, 'keep me\n');
    const path = join(tempDir(), 'usage-journal.ndjson');
    symlinkSync(outside, path);
    const err = await openJournal(path).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FileRefusedError);
    expect(err).toMatchObject({ reason: 'symlink', message: `${path} is a symbolic link; it is not followed` });
    expect(readFileSync(outside, 'utf8')).toBe('keep me\n');
  });

  it('refuses a link to /dev/zero at once, reading nothing', async () => {
    const path = join(tempDir(), 'usage-journal.ndjson');
    symlinkSync('/dev/zero', path);
    await expect(openJournal(path)).rejects.toMatchObject({ reason: 'symlink' });
  });

  it('refuses a FIFO without blocking, and a directory', async () => {
    const dir = tempDir();
    const fifo = join(dir, 'usage-journal.ndjson');
    execFileSync('mkfifo', [fifo]);
    await expect(openJournal(fifo)).rejects.toMatchObject({ reason: 'not-regular', message: `${fifo} is a FIFO, not a regular file` });
    const other = join(tempDir(), 'usage-journal.ndjson');
    mkdirSync(other);
    await expect(openJournal(other)).rejects.toMatchObject({ reason: 'not-regular', message: `${other} is a directory, not a regular file` });
  });

  it('refuses a journal larger than any it writes, rather than read it into memory', async () => {
    const path = join(tempDir(), 'usage-journal.ndjson');
    writeFileSync(path, '');
    truncateSync(path, MAX_REPLAY_BYTES + 1);
    await expect(openJournal(path)).rejects.toMatchObject({ reason: 'too-large' });
  });
});

describe('replay checks every line as strictly as the intake checks a report', () => {
  const good: JournalLine[] = [
    { k: 'u', at, d: 'gb', q: 10, t: { team: 'a' }, id: 'ok-1' },
    { k: 'u', at, d: 'req', q: 4 },
  ];
  it.each([
    ['a string quantity', { k: 'u', at, d: 'gb', q: '5' }],
    ['a negative quantity', { k: 'u', at, d: 'gb', q: -1000 }],
    ['a fractional quantity', { k: 'u', at, d: 'gb', q: 1.5 }],
    ['a quantity above the int32 cap', { k: 'u', at, d: 'gb', q: 2_147_483_648 }],
    ['an unknown dimension', { k: 'u', at, d: 'other', q: 1 }],
    ['a time that is not one', { k: 'u', at: 'today', d: 'gb', q: 1 }],
    ['tags outside AWS rules', { k: 'u', at, d: 'gb', q: 1, t: { 'bad!': 'x' } }],
    ['six tags', { k: 'u', at, d: 'gb', q: 1, t: { a: '1', b: '2', c: '3', d: '4', e: '5', f: '6' } }],
    ['an id too long', { k: 'u', at, d: 'gb', q: 1, id: 'x'.repeat(129) }],
    ['an unknown field', { k: 'u', at, d: 'gb', q: 1, extra: true }],
    ['an unknown kind', { k: 'z' }],
    ['an array', [1, 2]],
    ['a record that takes more than is pending', { k: 's', tok: 'tok-a', h: H, d: 'gb', from: [[H, '[["team","a"]]', 11]] }],
    ['a record taking a negative quantity', { k: 's', tok: 'tok-a', h: H, d: 'gb', from: [[H, '[["team","a"]]', -5]] }],
    ['a record of an hour that is not one', { k: 's', tok: 'tok-a', h: H + 1, d: 'gb', from: [[H, '', 1]] }],
    ['a record from a later hour', { k: 's', tok: 'tok-a', h: H, d: 'req', from: [[H + HOUR_MS, '', 1]] }],
    ['a record with a tags key that is not canonical', { k: 's', tok: 'tok-a', h: H, d: 'gb', from: [[H, '{"team":"a"}', 1]] }],
    ['a record with a ClientToken of 65 characters', { k: 's', tok: 'x'.repeat(65), h: H, d: 'req', from: [[H, '', 1]] }],
    ['a result for no record', { k: 'r', tok: 'nope', st: 'sent' }],
    ['a result of an unknown kind', { k: 'r', tok: 'tok-a', st: 'maybe' }],
    ['an ambiguity mark for no record', { k: 'x', tok: 'nope' }],
    ['a mark of an unknown dimension', { k: 'm', h: H, d: 'other' }],
    ['ids that are not strings', { k: 'i', ids: [1, 2] }],
    ['a line of NUL bytes (what a failed write used to leave)', '\u0000'.repeat(40)],
  ])('skips %s, counts and logs it; the other lines count', async (_what, bad) => {
    const path = join(tempDir(), 'usage-journal.ndjson');
    const raw = typeof bad === 'string' ? `${bad}\n` : `${JSON.stringify(bad)}\n`;
    writeFileSync(path, good.map(lineOf).join('') + raw);
    const { ledger, journal, logs } = await openJournal(path);
    expect(ledger.pendingUnits()).toEqual(new Map([['gb', 10], ['req', 4]]));
    expect(ledger.unsettled()).toEqual([]);
    const logged = logs.lines.find((l) => l.msg.startsWith('usage journal has invalid lines'));
    expect(logged).toMatchObject({ level: 'error', invalid: 1 });
    expect(String((logged?.first as string[])[0])).toMatch(/^line 3: /);
    await journal.close();
  });
});
