import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect } from 'vitest';

/**
 * A real, small tmpfs, visible only to the processes a test puts in it: a holder process makes a
 * private mount namespace (`unshare -m --propagation private`), mounts the tmpfs there and sleeps; a
 * sidecar joins that namespace with `nsenter --mount`; the test reads and writes the tmpfs through
 * `/proc/<holder>/root`. Nothing is mounted in the host's namespace, and killing the holder (after
 * the test) takes the mount with it. Needs root, as the suite runs.
 */
export interface PrivateTmpfs {
  /** The mount point, as the processes inside see it. */
  readonly dir: string;
  /** The same directory as this test process reaches it. */
  readonly view: string;
  /** Prefix for a command to run inside the namespace (`startCli`'s wrapper). */
  readonly wrapper: string[];
}

export async function privateTmpfs(sizeBytes: number): Promise<PrivateTmpfs> {
  expect(process.getuid?.(), 'a private tmpfs needs root (the suite runs as root)').toBe(0);
  const dir = mkdtempSync(join(tmpdir(), 'usage-tmpfs-'));
  const holder = spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', `mount -t tmpfs -o size=${sizeBytes},mode=0755 tmpfs "$0" && echo mounted && exec sleep 600`, dir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  afterEach(() => {
    holder.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  await new Promise<void>((resolve, reject) => {
    let err = '';
    holder.stderr.on('data', (c: Buffer) => (err += c.toString()));
    holder.stdout.on('data', (c: Buffer) => c.toString().includes('mounted') && resolve());
    holder.once('exit', (code) => reject(new Error(`the tmpfs holder exited (${code}): ${err}`)));
  });
  const pid = holder.pid as number;
  return { dir, view: `/proc/${pid}/root${dir}`, wrapper: ['nsenter', `--mount=/proc/${pid}/ns/mnt`, '--'] };
}

/** Appends to `path` until the file system refuses a single byte more (ENOSPC). */
export function fillVolume(path: string): void {
  const fd = openSync(path, 'a');
  try {
    for (const size of [64 * 1024, 4096, 1]) {
      for (;;) {
        try {
          writeSync(fd, Buffer.alloc(size));
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
          break;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
}
