import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

/**
 * Opening and reading files that someone else may have put in place: on the shared volume any name
 * may be a symbolic link (to /dev/zero, to a file outside the volume), a FIFO (an open for reading
 * blocks forever), a directory, or a file of gigabytes. Every open here
 * - never blocks: O_NONBLOCK, so a FIFO without a writer opens at once and is then refused;
 * - follows no link in the last path component unless asked to (O_NOFOLLOW: a link fails with ELOOP);
 * - accepts only a regular file, checked on the opened descriptor (fstat), so there is no window
 *   between the check and the use;
 * - reads at most `maxBytes`, also when the file grows while it is read.
 * Configuration files mounted from a Kubernetes ConfigMap or Secret are links by design
 * (`key.pem -> ..data/key.pem`), so their readers pass `followSymlinks: true`.
 */

export type FileRefusal = 'symlink' | 'not-regular' | 'too-large';

export class FileRefusedError extends Error {
  override readonly name = 'FileRefusedError';
  readonly reason: FileRefusal;
  readonly path: string;
  /** Like an errno, for callers that report `err.code`. */
  readonly code: 'ELOOP' | 'EFTYPE' | 'EFBIG';

  constructor(path: string, reason: FileRefusal, detail: string) {
    super(`${path} ${detail}`);
    this.path = path;
    this.reason = reason;
    this.code = reason === 'symlink' ? 'ELOOP' : reason === 'not-regular' ? 'EFTYPE' : 'EFBIG';
  }
}

export interface RegularFileOptions {
  /** Follow a symbolic link in the last component (configuration mounts); default false. */
  readonly followSymlinks?: boolean;
}

/** What a non-regular file is, for messages. */
export function fileKind(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  if (st.isSymbolicLink()) return 'a symbolic link';
  return 'not a regular file';
}

function flagsFor(base: number, options: RegularFileOptions): number {
  return base | constants.O_NONBLOCK | (options.followSymlinks === true ? 0 : constants.O_NOFOLLOW);
}

function refusedOpen(path: string, err: unknown): Error {
  const code = (err as NodeJS.ErrnoException).code;
  // O_NOFOLLOW on a link gives ELOOP; a FIFO opened for writing without a reader gives ENXIO.
  if (code === 'ELOOP') return new FileRefusedError(path, 'symlink', 'is a symbolic link; it is not followed');
  if (code === 'ENXIO') return new FileRefusedError(path, 'not-regular', 'is a FIFO or a socket, not a regular file');
  return err as Error;
}

function notRegular(path: string, st: Stats): FileRefusedError {
  return new FileRefusedError(path, 'not-regular', `is ${fileKind(st)}, not a regular file`);
}

function tooLarge(path: string, maxBytes: number): FileRefusedError {
  return new FileRefusedError(path, 'too-large', `is larger than ${maxBytes} bytes`);
}

/**
 * Opens a regular file; `flags` are the usual O_* bits (O_RDONLY, O_WRONLY|O_APPEND|O_CREAT, ...).
 * Refuses links (unless followed), FIFOs, devices, sockets and directories without blocking.
 */
export async function openRegularFile(path: string, flags: number, mode = 0o600, options: RegularFileOptions = {}): Promise<FileHandle> {
  let handle: FileHandle;
  try {
    handle = await open(path, flagsFor(flags, options), mode);
  } catch (err) {
    throw refusedOpen(path, err);
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw notRegular(path, st);
    return handle;
  } catch (err) {
    await handle.close().catch(() => undefined);
    throw err;
  }
}

/** Reads a whole regular file of at most `maxBytes`. */
export async function readRegularFile(path: string, maxBytes: number, options: RegularFileOptions = {}): Promise<Buffer> {
  const handle = await openRegularFile(path, constants.O_RDONLY, 0o600, options);
  try {
    const st = await handle.stat();
    if (st.size > maxBytes) throw tooLarge(path, maxBytes);
    const reader = new BoundedReader(path, st.size, maxBytes);
    for (;;) {
      const room = reader.room(); // may grow the buffer: ask before reading `reader.buffer`
      const { bytesRead } = await handle.read(reader.buffer, reader.total, room, reader.total);
      if (!reader.advance(bytesRead)) return reader.contents();
    }
  } finally {
    await handle.close();
  }
}

/** A buffer sized from fstat that grows, up to one byte past the bound, if the file grows while read. */
class BoundedReader {
  buffer: Buffer;
  total = 0;
  readonly #path: string;
  readonly #maxBytes: number;

  constructor(path: string, size: number, maxBytes: number) {
    this.#path = path;
    this.#maxBytes = maxBytes;
    this.buffer = Buffer.alloc(Math.min(size, maxBytes) + 1);
  }

  room(): number {
    if (this.total === this.buffer.length) {
      // Reading one byte more than allowed is how a file that grew past the bound is caught.
      const grown = Buffer.alloc(this.#maxBytes + 1);
      this.buffer.copy(grown);
      this.buffer = grown;
    }
    return this.buffer.length - this.total;
  }

  /** False at the end of the file. */
  advance(bytesRead: number): boolean {
    if (bytesRead === 0) return false;
    this.total += bytesRead;
    if (this.total > this.#maxBytes) throw tooLarge(this.#path, this.#maxBytes);
    return true;
  }

  contents(): Buffer {
    return this.buffer.subarray(0, this.total);
  }
}

/** The synchronous form, for configuration read once at start. */
export function readRegularFileSync(path: string, maxBytes: number, options: RegularFileOptions = {}): Buffer {
  let fd: number;
  try {
    fd = openSync(path, flagsFor(constants.O_RDONLY, options));
  } catch (err) {
    throw refusedOpen(path, err);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw notRegular(path, st);
    if (st.size > maxBytes) throw tooLarge(path, maxBytes);
    const reader = new BoundedReader(path, st.size, maxBytes);
    for (;;) {
      const room = reader.room();
      if (!reader.advance(readSync(fd, reader.buffer, reader.total, room, reader.total))) return reader.contents();
    }
  } finally {
    closeSync(fd);
  }
}

/** `err.code` of a refusal or an errno, for one-word reasons in messages. */
export function fileErrorCode(err: unknown): string {
  return (err as { code?: unknown }).code === undefined ? 'error' : String((err as { code: unknown }).code);
}
