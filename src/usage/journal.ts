import { open, readFile, type FileHandle } from 'node:fs/promises';
import type { Logger } from 'pino';
import { writeFileAtomic } from '../shared/atomic-file.js';
import type { JournalLine, UsageLedger } from './ledger.js';

/**
 * The usage journal: an append-only file of JSON lines on the shared volume (it outlives container
 * restarts in the pod). A report is acknowledged to the app only once its line is written and
 * fsynced. Concurrent appends share one write and one fsync (group commit), so durability costs one
 * disk flush per batch, not per report.
 *
 * After a kill -9 the last line may be torn; it was never acknowledged (the fsync had not returned),
 * so it is cut off when the journal is opened again.
 */

interface Pending {
  readonly lines: readonly JournalLine[];
  resolve(): void;
  reject(err: unknown): void;
}

export const JOURNAL_MODE = 0o600;

export class UsageJournal {
  readonly path: string;
  readonly #ledger: UsageLedger;
  readonly #logger: Logger;
  #handle: FileHandle;
  #size: number;
  #queue: Pending[] = [];
  #flushing: Promise<void> | undefined;
  #compacting: Promise<void> | undefined;

  private constructor(path: string, ledger: UsageLedger, logger: Logger, handle: FileHandle, size: number) {
    this.path = path;
    this.#ledger = ledger;
    this.#logger = logger;
    this.#handle = handle;
    this.#size = size;
  }

  /** Opens (or creates) the journal and replays it into the ledger. */
  static async open(path: string, ledger: UsageLedger, logger: Logger): Promise<UsageJournal> {
    let text = '';
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    // Everything after the last newline is a torn write that was never acknowledged.
    const complete = text.lastIndexOf('\n') + 1;
    let replayed = 0;
    let unreadable = 0;
    for (const raw of text.slice(0, complete).split('\n')) {
      if (raw === '') continue;
      try {
        ledger.apply(JSON.parse(raw) as JournalLine);
        replayed++;
      } catch {
        unreadable++;
      }
    }
    const size = Buffer.byteLength(text.slice(0, complete));
    const handle = await open(path, 'a+', JOURNAL_MODE);
    if (complete < text.length) {
      await handle.truncate(size);
      await handle.sync();
    }
    if (replayed > 0 || complete < text.length || unreadable > 0) {
      logger.info({ path, replayed, tornTailBytes: Buffer.byteLength(text.slice(complete)), unreadable }, 'usage journal replayed');
    }
    if (unreadable > 0) logger.error({ path, unreadable }, 'usage journal has unreadable lines; they were skipped');
    return new UsageJournal(path, ledger, logger, handle, size);
  }

  get size(): number {
    return this.#size;
  }

  /** Appends lines durably, then applies them to the ledger. Rejects (and applies nothing) if the write fails. */
  append(lines: readonly JournalLine[]): Promise<void> {
    if (lines.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ lines, resolve, reject });
      this.#kick();
    });
  }

  /** Starts writing queued lines unless a write or a compaction is already under way. */
  #kick(): void {
    if (this.#flushing === undefined && this.#compacting === undefined && this.#queue.length > 0) this.#flushing = this.#flush();
  }

  async #flush(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue;
        this.#queue = [];
        const text = batch.map((p) => p.lines.map((l) => `${JSON.stringify(l)}\n`).join('')).join('');
        const before = this.#size;
        try {
          await this.#handle.write(text);
          await this.#handle.datasync();
          this.#size += Buffer.byteLength(text);
        } catch (err) {
          // A half-written batch must not stay in front of the next one.
          await this.#handle.truncate(before).catch(() => undefined);
          for (const p of batch) p.reject(err);
          continue;
        }
        for (const p of batch) {
          for (const line of p.lines) this.#ledger.apply(line);
          p.resolve();
        }
      }
    } finally {
      this.#flushing = undefined;
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
    this.#compacting = this.#rewrite(makeLines()).finally(() => {
      this.#compacting = undefined;
      this.#kick();
    });
    await this.#compacting;
  }

  async #rewrite(lines: readonly JournalLine[]): Promise<void> {
    const text = lines.map((l) => `${JSON.stringify(l)}\n`).join('');
    await this.#handle.close();
    try {
      await writeFileAtomic(this.path, text, JOURNAL_MODE);
      this.#logger.debug({ path: this.path, before: this.#size, after: Buffer.byteLength(text) }, 'usage journal compacted');
      this.#size = Buffer.byteLength(text);
    } finally {
      this.#handle = await open(this.path, 'a+', JOURNAL_MODE);
    }
  }

  async close(): Promise<void> {
    await this.settled();
    await this.#handle.close();
  }
}
