import type { Logger } from 'pino';
import { removeStaleTemporaries } from '../atomic-file.js';
import { FileRefusedError } from '../regular-file.js';
import { JournalFile, type OpenJournalHandle } from './journal-file.js';
import { parseJournalLine } from './journal-lines.js';
import type { JournalLine, UsageLedger } from './ledger.js';

/**
 * The usage journal: an append-only file of JSON lines on the shared volume (it outlives container
 * restarts in the pod). A report is acknowledged to the app only once its line is written and
 * fsynced. Concurrent appends share one write and one fsync (group commit), so durability costs one
 * disk flush per batch, not per report. What is on disk is exactly what was acknowledged, whatever
 * the disk does (journal-file.ts): partial writes and full disks leave no torn line and no NUL bytes.
 *
 * After a kill -9 the last line may be torn; it was never acknowledged (the fsync had not returned),
 * so it is cut off when the journal is opened again. Every other line is checked as strictly as the
 * intake checks a report (journal-lines.ts) and against the ledger; a line that fails is skipped and
 * logged, never counted.
 */

interface Pending {
  readonly lines: readonly JournalLine[];
  readonly bytes: Buffer;
  resolve(): void;
  reject(err: unknown): void;
}

export const JOURNAL_MODE = 0o600;
/** A journal larger than this is refused at open rather than read into memory: twice the largest volume any chart rendered. */
export const MAX_REPLAY_BYTES = 32 * 1024 * 1024;

export interface JournalOptions {
  readonly path: string;
  readonly ledger: UsageLedger;
  readonly logger: Logger;
  /** The product's dimensions: a replayed line of another is refused. */
  readonly dimensions: readonly string[];
  /** Test hook: opens the file (default: no-follow, regular files only), to inject faults at the FileHandle boundary. */
  readonly openHandle?: OpenJournalHandle;
}

export class UsageJournal {
  readonly path: string;
  readonly #ledger: UsageLedger;
  readonly #logger: Logger;
  readonly #file: JournalFile;
  #queue: Pending[] = [];
  #flushing: Promise<void> | undefined;
  #compacting: Promise<void> | undefined;
  #closed = false;

  private constructor(o: JournalOptions, file: JournalFile) {
    this.path = o.path;
    this.#ledger = o.ledger;
    this.#logger = o.logger;
    this.#file = file;
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
      return new UsageJournal(o, file);
    } catch (err) {
      await file.close().catch(() => undefined);
      throw err;
    }
  }

  get size(): number {
    return this.#file.size;
  }

  /** Appends lines durably, then applies them to the ledger. Rejects (and applies nothing) if the write fails. */
  append(lines: readonly JournalLine[]): Promise<void> {
    if (lines.length === 0) return Promise.resolve();
    if (this.#closed) return Promise.reject(new Error(`the usage journal ${this.path} is closed`));
    const bytes = Buffer.from(lines.map((l) => `${JSON.stringify(l)}\n`).join(''));
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ lines, bytes, resolve, reject });
      this.#kick();
    });
  }

  /** Starts writing queued lines unless a write or a compaction is already under way. */
  #kick(): void {
    if (this.#flushing !== undefined || this.#compacting !== undefined || this.#queue.length === 0) return;
    // Cleared in a callback, not in #flush: a flush that ends without awaiting ends before it is assigned.
    this.#flushing = this.#flush().finally(() => {
      this.#flushing = undefined;
      this.#kick();
    });
  }

  async #flush(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue;
      this.#queue = [];
      try {
        await this.#file.append(Buffer.concat(batch.map((p) => p.bytes)));
      } catch (err) {
        for (const p of batch) p.reject(err);
        continue;
      }
      for (const p of batch) {
        for (const line of p.lines) this.#applyOwn(line);
        p.resolve();
      }
    }
  }

  /** A line this process made is durable: apply it. One the ledger refuses is a bug, but never a crash. */
  #applyOwn(line: JournalLine): void {
    try {
      this.#ledger.apply(line);
    } catch (err) {
      this.#logger.error({ err, kind: line.k }, 'a usage journal line was written but does not fit the ledger; it is ignored, here and on replay');
    }
  }

  /** Waits until everything appended so far is durable. */
  async settled(): Promise<void> {
    while (this.#flushing !== undefined || this.#compacting !== undefined) await (this.#flushing ?? this.#compacting);
  }

  /**
   * Replaces the journal with `makeLines()` (which must describe the ledger as it is, already applied),
   * atomically: a crash leaves either the old journal or the new one. Appends wait meanwhile, and
   * `makeLines` runs once nothing else is being written, so no acknowledged line can be left out.
   */
  async compact(makeLines: () => readonly JournalLine[]): Promise<void> {
    while (this.#flushing !== undefined || this.#compacting !== undefined) await (this.#flushing ?? this.#compacting);
    this.#compacting = (async () => {
      const text = Buffer.from(makeLines().map((l) => `${JSON.stringify(l)}\n`).join(''));
      const before = this.size;
      await this.#file.replace(text, JOURNAL_MODE);
      this.#logger.debug({ path: this.path, before, after: text.length }, 'usage journal compacted');
    })().finally(() => {
      this.#compacting = undefined;
      this.#kick();
    });
    await this.#compacting;
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.settled();
    await this.#file.close();
  }
}

export interface ReplaySummary {
  readonly replayed: number;
  readonly invalid: number;
  readonly tornTailBytes: number;
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
    o.logger.error({ path: o.path, invalid: problems.length, first: problems.slice(0, 5) }, 'usage journal has invalid lines; they were skipped, not counted as usage');
  }
  return { replayed, invalid: problems.length, tornTailBytes: contents.length - complete };
}
