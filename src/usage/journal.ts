import type { Logger } from 'pino';
import { HOUR_MS, startOfHour } from '../shared/time.js';
import { removeStaleTemporaries } from '../shared/atomic-file.js';
import { FileRefusedError } from '../shared/regular-file.js';
import { JournalFile, type OpenJournalHandle } from './journal-file.js';
import { parseJournalLine } from './journal-lines.js';
import type { JournalLine, UsageLedger } from './ledger.js';
import type { JournalLimits } from './volume.js';

/**
 * The usage journal: an append-only file of JSON lines on the shared volume (it outlives container
 * restarts in the pod). A report is acknowledged to the app only once its line is written and
 * fsynced. Concurrent appends share one write and one fsync (group commit), so durability costs one
 * disk flush per batch, not per report.
 *
 * It never takes more of the volume than its bound (volume.ts): reports are admitted only while the
 * journal stays within `intakeBytes`; the forwarder's lines (records, results) may use the rest, so
 * records are made and settled when no report fits; compaction keeps the file small and runs as soon
 * as it has grown, not only once an hour has settled.
 *
 * After a kill -9 the last line may be torn; it was never acknowledged (the fsync had not returned),
 * so it is cut off when the journal is opened again. Every other line is checked as strictly as the
 * intake checks a report (journal-lines.ts) and against the ledger; a line that fails is skipped and
 * logged, and the next compaction drops it.
 */

export type Writer = 'intake' | 'forwarder';

interface Pending {
  readonly lines: readonly JournalLine[];
  readonly bytes: Buffer;
  readonly writer: Writer;
  resolve(): void;
  reject(err: unknown): void;
}

export const JOURNAL_MODE = 0o600;
/** A journal larger than this is refused at open rather than read into memory: twice the largest volume any chart rendered. */
export const MAX_REPLAY_BYTES = 32 * 1024 * 1024;
/** After a compaction fails (the volume is full), the next try waits this long. */
const COMPACTION_RETRY_MS = 30_000;

/** The journal has no room for these lines under its bound; nothing was written. */
export class JournalFullError extends Error {
  override readonly name = 'JournalFullError';
  readonly code = 'EJOURNALFULL';
}

export interface JournalOptions {
  readonly path: string;
  readonly ledger: UsageLedger;
  readonly logger: Logger;
  /** The product's dimensions: a replayed line of another is refused. */
  readonly dimensions: readonly string[];
  readonly limits: JournalLimits;
  /** Test hook: opens the file (default: no-follow, regular files only), to inject faults at the FileHandle boundary. */
  readonly openHandle?: OpenJournalHandle;
}

export interface ReplaySummary {
  readonly replayed: number;
  readonly invalid: number;
  readonly tornTailBytes: number;
}

export class UsageJournal {
  readonly path: string;
  readonly limits: JournalLimits;
  readonly #ledger: UsageLedger;
  readonly #logger: Logger;
  readonly #file: JournalFile;
  #queue: Pending[] = [];
  #flushing: Promise<void> | undefined;
  #compacting: Promise<void> | undefined;
  #closed = false;
  /** Size right after the last compaction (or the open): compaction is due once the file has doubled past it. */
  #compactedSize: number;
  #compactionNotBefore = 0;
  #lastCompactionError: unknown;
  #mustRewrite: boolean;
  /** What refuses reports right now, for logging only the changes: undefined, 'full' or an error code. */
  #refusing: string | undefined;

  private constructor(o: JournalOptions, file: JournalFile, mustRewrite: boolean) {
    this.path = o.path;
    this.limits = o.limits;
    this.#ledger = o.ledger;
    this.#logger = o.logger;
    this.#file = file;
    // Zero: a journal found above the compaction floor is compacted at the first pass.
    this.#compactedSize = 0;
    this.#mustRewrite = mustRewrite;
  }

  /** Opens (or creates) the journal and replays it into the ledger. */
  static async open(o: JournalOptions): Promise<UsageJournal> {
    // A compaction killed between writing its copy and renaming it leaves the copy: up to a whole journal.
    const stale = await removeStaleTemporaries(o.path).catch(() => 0);
    let opened: Awaited<ReturnType<typeof JournalFile.open>>;
    try {
      opened = await JournalFile.open(o.path, MAX_REPLAY_BYTES, JOURNAL_MODE, o.openHandle);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EISDIR') throw new FileRefusedError(o.path, 'not-regular', 'is a directory, not a regular file');
      throw err;
    }
    const { file, contents } = opened;
    try {
      const summary = replay(contents, o);
      if (summary.tornTailBytes > 0) await file.truncate(contents.length - summary.tornTailBytes);
      if (summary.replayed > 0 || summary.tornTailBytes > 0 || summary.invalid > 0 || stale > 0) {
        o.logger.info({ path: o.path, ...summary, staleCopiesRemoved: stale }, 'usage journal replayed');
      }
      return new UsageJournal(o, file, summary.invalid > 0);
    } catch (err) {
      await file.close().catch(() => undefined);
      throw err;
    }
  }

  get size(): number {
    return this.#file.size;
  }

  /**
   * Appends lines durably, then applies them to the ledger. Rejects (and applies nothing) if the write
   * fails, or with JournalFullError if they do not fit the writer's share of the bound.
   */
  append(lines: readonly JournalLine[], writer: Writer = 'forwarder'): Promise<void> {
    if (lines.length === 0) return Promise.resolve();
    if (this.#closed) return Promise.reject(new Error(`the usage journal ${this.path} is closed`));
    const bytes = Buffer.from(lines.map((l) => `${JSON.stringify(l)}\n`).join(''));
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ lines, bytes, writer, resolve, reject });
      this.#kick();
    });
  }

  /** Starts writing queued lines unless a write or a compaction is already under way. */
  #kick(): void {
    if (this.#flushing !== undefined || this.#compacting !== undefined || this.#queue.length === 0) return;
    // Cleared in a callback, not in #flush: a flush that refuses everything ends before it is assigned.
    this.#flushing = this.#flush().finally(() => {
      this.#flushing = undefined;
      this.#kick();
    });
  }

  async #flush(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#admit(this.#queue);
      this.#queue = [];
      if (batch.length === 0) continue;
      try {
        await this.#file.append(Buffer.concat(batch.map((p) => p.bytes)));
      } catch (err) {
        this.#refusalChanged((err as NodeJS.ErrnoException).code ?? 'error', err);
        if ((err as NodeJS.ErrnoException).code === 'EJOURNALDAMAGED') this.#mustRewrite = true;
        for (const p of batch) p.reject(err);
        continue;
      }
      if (batch.some((p) => p.writer === 'intake')) this.#refusalChanged(undefined);
      for (const p of batch) {
        for (const line of p.lines) this.#applyOwn(line);
        p.resolve();
      }
    }
  }

  /** The queued appends that fit their writer's share of the bound; the others are refused, whole. */
  #admit(queue: readonly Pending[]): Pending[] {
    const admitted: Pending[] = [];
    let size = this.size;
    for (const p of queue) {
      const limit = p.writer === 'intake' ? this.limits.intakeBytes : this.limits.maxBytes;
      if (size + p.bytes.length <= limit) {
        admitted.push(p);
        size += p.bytes.length;
        continue;
      }
      if (p.writer === 'intake') this.#refusalChanged('full');
      p.reject(new JournalFullError(`the usage journal holds ${this.size} of its ${limit} bytes for ${p.writer === 'intake' ? 'reports' : 'records'}`));
    }
    return admitted;
  }

  /** A line this process made is durable: apply it. One the ledger refuses is a bug, but never a crash. */
  #applyOwn(line: JournalLine): void {
    try {
      this.#ledger.apply(line);
    } catch (err) {
      this.#logger.error({ err, kind: line.k }, 'a usage journal line was written but does not fit the ledger; it is ignored, here and on replay');
    }
  }

  /** Logs only when what refuses reports changes: full, an error code, or nothing (accepting again). */
  #refusalChanged(now: string | undefined, err?: unknown): void {
    if (now === this.#refusing) return;
    const was = this.#refusing;
    this.#refusing = now;
    const fields = { path: this.path, bytes: this.size, intakeBytes: this.limits.intakeBytes, maxBytes: this.limits.maxBytes };
    if (now === undefined) this.#logger.info({ ...fields, was }, 'usage journal accepts reports again');
    else if (now === 'full') this.#logger.warn(fields, 'usage journal full: reports are refused with 503 (nothing recorded) until records are sent and the journal is compacted; records already journaled are still sent');
    else this.#logger.error({ ...fields, err }, 'usage journal write failed: the lines were cut off again; reports are refused with 503 (nothing recorded) and results AWS gave are kept in memory until the journal can take them');
  }

  /** Waits until everything appended so far is durable. */
  async settled(): Promise<void> {
    while (this.#flushing !== undefined || this.#compacting !== undefined) await (this.#flushing ?? this.#compacting);
  }

  /** Whether a compaction would help now: the file has doubled since the last one (and is past the floor), lines must be dropped, or the file must be repaired. */
  compactionDue(now: number): boolean {
    if (now < this.#compactionNotBefore) return false;
    if (this.#mustRewrite || this.#file.damaged) return true;
    const trigger = Math.min(this.limits.intakeBytes, Math.max(this.limits.compactAboveBytes, 2 * this.#compactedSize));
    return this.size >= trigger && this.size > this.#compactedSize;
  }

  /**
   * Journals the forwarder's lines (records, results): appended when they fit the bound; when they do
   * not, written through a compaction that takes them in, which always has room (the intake's share
   * ends a quarter below the bound, and the volume holds a second copy). Rejects if neither works.
   */
  async write(lines: readonly JournalLine[], now: number): Promise<void> {
    try {
      await this.append(lines, 'forwarder');
      return;
    } catch (err) {
      if (!(err instanceof JournalFullError)) throw err;
    }
    const outcome = await this.compact(now, lines);
    if (outcome === 'done') return;
    if (typeof outcome === 'object') throw outcome.error;
    throw new JournalFullError(`the usage journal cannot take ${lines.length} more lines within its ${this.limits.maxBytes} bytes, even compacted`);
  }

  /**
   * Replaces the journal with the ledger's compacted lines (with `extra` applied, which are then
   * applied to the ledger too), atomically: a crash leaves either the old journal or the new one.
   * Appends wait meanwhile, and the lines are made once nothing else is being written, so no
   * acknowledged line can be left out. Without `extra`, only a rewrite that shrinks the file is done.
   */
  async compact(now: number, extra: readonly JournalLine[] = []): Promise<'done' | 'skipped' | 'too-large' | { error: unknown }> {
    while (this.#flushing !== undefined || this.#compacting !== undefined) await (this.#flushing ?? this.#compacting);
    if (extra.length > 0 && now < this.#compactionNotBefore && this.#lastCompactionError !== undefined) return { error: this.#lastCompactionError };
    let outcome: 'done' | 'skipped' | 'too-large' | { error: unknown } = 'skipped';
    this.#compacting = (async () => {
      // Marks for the last day of hours are plenty: MeterUsage accepts at most six hours back.
      const keepMarksSince = startOfHour(now) - 24 * HOUR_MS;
      const lines = extra.length > 0 ? this.#ledger.compactedWith(extra, keepMarksSince) : this.#ledger.compacted(keepMarksSince);
      const text = Buffer.from(lines.map((l) => `${JSON.stringify(l)}\n`).join(''));
      const before = this.size;
      if (extra.length === 0 && text.length >= before && !this.#mustRewrite && !this.#file.damaged) {
        this.#compactedSize = before;
        return;
      }
      if (text.length > this.limits.maxBytes) {
        this.#compactedSize = before;
        outcome = 'too-large';
        return;
      }
      try {
        await this.#file.replace(text, JOURNAL_MODE);
      } catch (err) {
        this.#compactionNotBefore = now + COMPACTION_RETRY_MS;
        this.#lastCompactionError = err;
        this.#logger.warn({ err, path: this.path, bytes: before, copyBytes: text.length }, 'usage journal compaction failed (its copy could not be written); the journal is unchanged and kept');
        outcome = { error: err };
        return;
      }
      this.#compactedSize = text.length;
      this.#mustRewrite = false;
      this.#lastCompactionError = undefined;
      for (const line of extra) this.#applyOwn(line);
      outcome = 'done';
      this.#logger.debug({ path: this.path, before, after: text.length, lines: lines.length, took: extra.length }, 'usage journal compacted');
    })().finally(() => {
      this.#compacting = undefined;
      this.#kick();
    });
    await this.#compacting;
    return outcome;
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.settled();
    await this.#file.close();
  }
}

/** Replays complete lines into the ledger; returns what it did. Everything after the last newline is a torn tail. */
function replay(contents: Buffer, o: JournalOptions): ReplaySummary {
  const complete = contents.lastIndexOf(0x0a) + 1;
  let replayed = 0;
  const problems: string[] = [];
  let lineNo = 0;
  for (const raw of contents.subarray(0, complete).toString('utf8').split('\n')) {
    lineNo++;
    if (raw === '') continue;
    const parsed = parseJournalLine(raw, o.dimensions);
    const problem = 'problem' in parsed ? parsed.problem : o.ledger.conflict(parsed.line);
    if (problem !== undefined) {
      problems.push(`line ${lineNo}: ${problem}`);
      continue;
    }
    o.ledger.apply((parsed as { line: JournalLine }).line);
    replayed++;
  }
  if (problems.length > 0) {
    o.logger.error(
      { path: o.path, invalid: problems.length, first: problems.slice(0, 5) },
      'usage journal has invalid lines; they were skipped (not counted as usage) and the next compaction drops them',
    );
  }
  return { replayed, invalid: problems.length, tornTailBytes: contents.length - complete };
}
