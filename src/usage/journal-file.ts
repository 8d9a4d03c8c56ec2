import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { FileRefusedError, openRegularFile } from '../shared/regular-file.js';

/**
 * The journal's file on the shared volume, written so that what is on disk is exactly what was
 * acknowledged, whatever the disk does:
 * - every open is no-follow, non-blocking and of regular files only (regular-file.ts): a link, FIFO,
 *   device or directory planted at the path is refused, and nothing outside the volume is touched;
 * - every write may be partial and every disk may fill: an append writes at the durable size, loops
 *   over short writes, fsyncs, and on any failure truncates back to the durable size (no torn line,
 *   no NUL padding, no size counter running ahead of the file);
 * - the durable size is checked against fstat before each append, so bytes a failed write left
 *   behind (its truncation failed too) are cut before anything follows them;
 * - a replacement (compaction) is written to a temporary file in the same directory, fsynced and
 *   renamed over the journal; its handle becomes the journal's, so there is no reopen that could fail.
 */

/** The part of a FileHandle the journal uses; tests wrap it to inject faults at exactly this boundary. */
export interface JournalHandle {
  stat(): Promise<{ size: number }>;
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  write(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesWritten: number }>;
  datasync(): Promise<void>;
  truncate(length: number): Promise<void>;
  close(): Promise<void>;
}

export type OpenJournalHandle = (path: string, flags: number, mode: number) => Promise<JournalHandle>;

export const openJournalHandle: OpenJournalHandle = (path, flags, mode) => openRegularFile(path, flags, mode);

/** A write that wrote nothing and reported no error: treated as a full disk. */
function shortWrite(): NodeJS.ErrnoException {
  return Object.assign(new Error('a write wrote 0 bytes'), { code: 'ENOSPC' });
}

/** The journal is shorter than what was made durable in it: something else truncated it. */
export class JournalDamagedError extends Error {
  override readonly name = 'JournalDamagedError';
  readonly code = 'EJOURNALDAMAGED';
}

async function writeAll(handle: JournalHandle, buf: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    // POSIX lets write(2) write less than asked without an error; the rest is written next, and
    // on a full disk that next write is the one that reports ENOSPC.
    const { bytesWritten } = await handle.write(buf, done, buf.length - done, position + done);
    if (bytesWritten <= 0) throw shortWrite();
    done += bytesWritten;
  }
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY).catch(() => undefined);
  if (handle === undefined) return;
  // Some file systems refuse fsync on a directory; the rename has happened all the same.
  await handle.sync().catch(() => undefined);
  await handle.close().catch(() => undefined);
}

export class JournalFile {
  readonly path: string;
  readonly #open: OpenJournalHandle;
  #handle: JournalHandle;
  #size: number;
  #damaged = false;

  private constructor(path: string, openHandle: OpenJournalHandle, handle: JournalHandle, size: number) {
    this.path = path;
    this.#open = openHandle;
    this.#handle = handle;
    this.#size = size;
  }

  /**
   * Opens (or creates) the journal and reads it whole; refuses anything but a regular file, and a file
   * larger than `maxReadBytes` (it is read into memory).
   */
  static async open(path: string, maxReadBytes: number, mode: number, openHandle: OpenJournalHandle = openJournalHandle): Promise<{ file: JournalFile; contents: Buffer }> {
    const handle = await openHandle(path, constants.O_RDWR | constants.O_CREAT, mode);
    try {
      const { size } = await handle.stat();
      if (size > maxReadBytes) throw new FileRefusedError(path, 'too-large', `is larger than ${maxReadBytes} bytes, more than any usage journal`);
      const contents = Buffer.alloc(size);
      let read = 0;
      while (read < size) {
        const { bytesRead } = await handle.read(contents, read, size - read, read);
        if (bytesRead === 0) break;
        read += bytesRead;
      }
      return { file: new JournalFile(path, openHandle, handle, read), contents: contents.subarray(0, read) };
    } catch (err) {
      await handle.close().catch(() => undefined);
      throw err;
    }
  }

  /** Bytes durably in the journal. */
  get size(): number {
    return this.#size;
  }

  /** Something else shortened the file: only a replacement (compaction) from the ledger repairs it. */
  get damaged(): boolean {
    return this.#damaged;
  }

  /** Cuts the file to `length` (a torn tail at open), durably. */
  async truncate(length: number): Promise<void> {
    await this.#handle.truncate(length);
    await this.#handle.datasync();
    this.#size = length;
  }

  /** Appends `buf` durably, or throws leaving the file as it was. */
  async append(buf: Buffer): Promise<void> {
    const before = this.#size;
    const { size } = await this.#handle.stat();
    if (size < before) {
      this.#damaged = true;
      throw new JournalDamagedError(`${this.path} is ${size} bytes, shorter than the ${before} bytes written to it`);
    }
    // What a failed write left past the durable size is never acknowledged: cut it before appending.
    if (size > before) await this.#handle.truncate(before);
    try {
      await writeAll(this.#handle, buf, before);
      await this.#handle.datasync();
    } catch (err) {
      // Failing too (it rarely does: shortening needs no space), it is done before the next append.
      await this.#handle.truncate(before).catch(() => undefined);
      throw err;
    }
    this.#size = before + buf.length;
  }

  /** Replaces the whole journal with `buf`, atomically (temporary file, fsync, rename, directory fsync). */
  async replace(buf: Buffer, mode: number): Promise<void> {
    const dir = dirname(this.path);
    // The naming of atomic-file.ts, so removeStaleTemporaries(path) clears what a kill -9 leaves.
    const tmp = join(dir, `.${basename(this.path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
    const next = await this.#open(tmp, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL, mode);
    try {
      await writeAll(next, buf, 0);
      await next.datasync();
      await rename(tmp, this.path);
    } catch (err) {
      await next.close().catch(() => undefined);
      await unlink(tmp).catch(() => undefined);
      throw err;
    }
    await syncDirectory(dir);
    const old = this.#handle;
    this.#handle = next;
    this.#size = buf.length;
    this.#damaged = false;
    await old.close().catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.#handle.close();
  }
}
