import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HOUR_MS } from '../../../src/shared/time.js';
import { FileRefusedError } from '../../../src/shared/regular-file.js';
import type { OpenJournalHandle } from '../../../src/usage/journal-file.js';
import { JournalFullError, MAX_REPLAY_BYTES, UsageJournal } from '../../../src/usage/journal.js';
import { UsageLedger, type JournalLine } from '../../../src/usage/ledger.js';
import { DEFAULT_JOURNAL_MAX_BYTES, journalLimits, type JournalLimits } from '../../../src/usage/volume.js';
import { captureLogs } from '../../helpers/logs.js';
import { tempDir } from '../../helpers/tmp.js';
import { failWrite, FaultyDisk, shortWrite } from '../../helpers/faulty-disk.js';

const at = Date.UTC(2026, 10, 23, 9);
const H = Date.UTC(2026, 10, 23, 9);

async function openJournal(path: string, o: { limits?: JournalLimits; openHandle?: OpenJournalHandle } = {}) {
  const ledger = new UsageLedger();
  const logs = captureLogs();
  const journal = await UsageJournal.open({
    path,
    ledger,
    logger: logs.logger,
    dimensions: ['gb', 'req'],
    limits: o.limits ?? journalLimits(DEFAULT_JOURNAL_MAX_BYTES),
    ...(o.openHandle === undefined ? {} : { openHandle: o.openHandle }),
  });
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
    const { journal } = await openJournal(path);
    for (let i = 0; i < 50; i++) await journal.append([{ k: 'u', at, d: 'gb', q: 2 }]);
    const racing: Promise<void>[] = [];
    const compaction = journal.compact(at);
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

  it('never writes past the end of a journal something else shortened (no NUL hole); the next compaction rewrites it from the ledger', async () => {
    const path = join(tempDir(), 'usage-journal.ndjson');
    const { ledger, journal } = await openJournal(path);
    await journal.append([{ k: 'u', at, d: 'gb', q: 1 }, { k: 'u', at, d: 'req', q: 2 }]);
    truncateSync(path, 5);
    await expect(journal.append([{ k: 'u', at, d: 'gb', q: 3 }])).rejects.toMatchObject({ code: 'EJOURNALDAMAGED' });
    expect(readFileSync(path).includes(0)).toBe(false);
    expect(journal.compactionDue(at)).toBe(true);
    expect(await journal.compact(at)).toBe('done');
    await journal.close();
    const reopened = await openJournal(path);
    expect(reopened.ledger.pendingUnits()).toEqual(ledger.pendingUnits());
    await reopened.journal.close();
  });
});

describe("UsageJournal's bound", () => {
  // 2 KiB: reports may take 1.5 KiB; records and results the rest.
  const small = journalLimits(2048);
  const report = (i: number): JournalLine => ({ k: 'u', at, d: 'gb', q: 1, t: { n: String(i) } });

  it('admits reports only within their share, refusing whole reports with JournalFullError; records and results still fit', async () => {
    const path = join(tempDir(), 'usage-journal.ndjson');
    const { ledger, journal } = await openJournal(path, { limits: small });
    const perLine = Buffer.byteLength(lineOf(report(10)));
    const fits = Math.floor(small.intakeBytes / perLine);
    const results = await Promise.allSettled(Array.from({ length: fits + 5 }, (_, i) => journal.append([report(10 + i)], 'intake')));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(fits);
    expect(results.filter((r) => r.status === 'rejected').every((r) => (r as PromiseRejectedResult).reason instanceof JournalFullError)).toBe(true);
    expect(journal.size).toBe(statSync(path).size);
    expect(journal.size).toBeLessThanOrEqual(small.intakeBytes);
    // The forwarder's share: a record of everything pending is still journaled.
    const [record] = ledger.plan(H, () => 'tok-1');
    await journal.write([record as JournalLine], at);
    expect(ledger.unsettled()).toHaveLength(1);
    expect(journal.size).toBeLessThanOrEqual(small.maxBytes);
    await journal.close();
  });

  it('writes records that do not fit its room through a compaction that takes them in, within the bound', async () => {
    const path = join(tempDir(), 'usage-journal.ndjson');
    const { ledger, journal } = await openJournal(path, { limits: small });
    for (let i = 0; ; i++) {
      try {
        await journal.append([report(10 + i)], 'intake');
      } catch (err) {
        expect(err).toBeInstanceOf(JournalFullError);
        break;
      }
    }
    // Fill the forwarder's share with results of other records so that this record's line cannot be appended.
    const planned = ledger.plan(H, () => 'tok-big');
    expect(Buffer.byteLength(planned.map(lineOf).join(''))).toBeGreaterThan(small.maxBytes - journal.size);
    await journal.write(planned, at);
    expect(ledger.unsettled().map((r) => r.token)).toEqual(['tok-big']);
    expect(journal.size).toBeLessThanOrEqual(small.maxBytes);
    await journal.write([{ k: 'r', tok: 'tok-big', st: 'sent', rid: 'rid-1' }], at);
    // Settled: the next compaction drops it, and reports fit again.
    expect(await journal.compact(at)).toBe('done');
    await journal.append([report(1)], 'intake');
    await journal.close();
    const reopened = await openJournal(path, { limits: small });
    expect(reopened.ledger.pendingUnits()).toEqual(new Map([['gb', 1]]));
    expect(reopened.ledger.unsettled()).toEqual([]);
    await reopened.journal.close();
  });

  it('is due for compaction as soon as it has grown past the floor, with no hour settled', async () => {
    const path = join(tempDir(), 'usage-journal.ndjson');
    const limits = journalLimits(64 * 1024);
    const { journal } = await openJournal(path, { limits });
    let appended = 0;
    while (!journal.compactionDue(at)) {
      await journal.append([{ k: 'u', at, d: 'gb', q: 1 }], 'intake');
      appended++;
    }
    expect(journal.size).toBeGreaterThanOrEqual(limits.compactAboveBytes);
    expect(await journal.compact(at)).toBe('done');
    expect(linesIn(path)).toEqual([JSON.stringify({ k: 'u', at: H, d: 'gb', q: appended })]);
    // Not due again until it has doubled past what compaction left (or reached the floor).
    expect(journal.compactionDue(at)).toBe(false);
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
    // The next compaction rewrites the journal without it.
    expect(journal.compactionDue(at)).toBe(true);
    expect(await journal.compact(at)).toBe('done');
    await journal.close();
    const again = await openJournal(path);
    expect(again.logs.lines.some((l) => l.msg.startsWith('usage journal has invalid lines'))).toBe(false);
    await again.journal.close();
  });

  it('accepts every line it writes itself: records, results, marks, ids, and compacted records that hold their own usage', async () => {
    const path = join(tempDir(), 'usage-journal.ndjson');
    const a = await openJournal(path);
    await a.journal.append(good);
    await a.journal.write(a.ledger.plan(H, () => 'tok-1'), at);
    await a.journal.append([{ k: 'x', tok: 'tok-1' }]);
    await a.journal.append([{ k: 'u', at: at + HOUR_MS, d: 'gb', q: 3, id: 'ok-2' }]);
    expect(await a.journal.compact(at + HOUR_MS)).toBe('done');
    expect(linesIn(path).some((l) => (JSON.parse(l) as { own?: boolean }).own === true)).toBe(true);
    await a.journal.append([{ k: 'r', tok: 'tok-1', st: 'carried', why: 'TimestampOutOfBoundsException: old' }]);
    await a.journal.close();
    const b = await openJournal(path);
    expect(b.logs.lines.some((l) => l.msg.startsWith('usage journal has invalid lines'))).toBe(false);
    expect(b.ledger.pendingUnits()).toEqual(a.ledger.pendingUnits());
    expect(b.ledger.hasIntakeId('ok-1') && b.ledger.hasIntakeId('ok-2')).toBe(true);
    await b.journal.close();
  });
});
