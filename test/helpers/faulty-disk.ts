import type { FileHandle } from 'node:fs/promises';
import { openRegularFile } from '../../src/shared/regular-file.js';
import type { JournalHandle, OpenJournalHandle } from '../../src/usage/journal-file.js';

/**
 * Faults at the journal's FileHandle boundary, one per call, in order: a script of what the next
 * write, datasync or truncate does instead of its normal self. Each fault acts on the real file (a
 * short write really writes its bytes), so the file on disk is what a failing disk would leave.
 * Calls with no fault scripted behave normally.
 */

export type WriteFault = (h: FileHandle, buf: Buffer, offset: number, length: number, position: number) => Promise<{ bytesWritten: number }>;

export function errno(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: injected fault`), { code });
}

/** write(2) writing only its first `n` bytes, without an error (as at the end of a tmpfs page). */
export const shortWrite =
  (n: number): WriteFault =>
  (h, buf, offset, length, position) =>
    h.write(buf, offset, Math.min(n, length), position);

/** A write that fails with `code` after writing `written` bytes (extending the file). */
export const failWrite =
  (code: string, written = 0): WriteFault =>
  async (h, buf, offset, length, position) => {
    if (written > 0) await h.write(buf, offset, Math.min(written, length), position);
    throw errno(code);
  };

/** A write held until `gate` settles; it then fails with `code`, or goes through when `code` is undefined. */
export const gatedWrite =
  (gate: Promise<unknown>, code?: string): WriteFault =>
  async (h, buf, offset, length, position) => {
    await gate;
    if (code !== undefined) throw errno(code);
    return h.write(buf, offset, length, position);
  };

export class FaultyDisk {
  readonly writes: WriteFault[] = [];
  readonly datasyncs: string[] = [];
  readonly truncates: string[] = [];
  /** Calls seen, for asserting what the journal did. */
  readonly calls: string[] = [];
  /** Writes that still go through before every write fails with `#fullCode` (a volume filling up). */
  #passes = 0;
  #fullCode: string | undefined;
  /** Only files whose path ends so are faulty ('' for all: the journal and its compaction copies). */
  readonly #suffix: string;

  constructor(suffix = '') {
    this.#suffix = suffix;
  }

  /** After `passes` more writes, every write fails with `code` (as on a full volume) until heal(). */
  failAfter(passes: number, code = 'ENOSPC'): void {
    this.#passes = passes;
    this.#fullCode = code;
  }

  heal(): void {
    this.#fullCode = undefined;
  }

  readonly open: OpenJournalHandle = async (path, flags, mode) => {
    const h = await openRegularFile(path, flags, mode);
    return path.endsWith(this.#suffix) ? this.#wrap(h) : h;
  };

  #wrap(h: FileHandle): JournalHandle {
    return {
      stat: () => h.stat(),
      read: (buf, offset, length, position) => h.read(buf, offset, length, position),
      write: (buf, offset, length, position) => {
        this.calls.push('write');
        if (this.#fullCode !== undefined) {
          if (this.#passes <= 0) return Promise.reject(errno(this.#fullCode));
          this.#passes--;
        }
        const fault = this.writes.shift();
        return fault === undefined ? h.write(buf, offset, length, position) : fault(h, buf, offset, length, position);
      },
      datasync: async () => {
        this.calls.push('datasync');
        const code = this.datasyncs.shift();
        if (code !== undefined) throw errno(code);
        await h.datasync();
      },
      truncate: async (length) => {
        this.calls.push('truncate');
        const code = this.truncates.shift();
        if (code !== undefined) throw errno(code);
        await h.truncate(length);
      },
      close: () => h.close(),
    };
  }
}
