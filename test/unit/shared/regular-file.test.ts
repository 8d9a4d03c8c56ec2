import { execFileSync } from 'node:child_process';
import { constants, existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileRefusedError, openRegularFile, readRegularFile, readRegularFileSync } from '../../../src/shared/regular-file.js';
import { tempDir } from '../../helpers/tmp.js';

const refusal = async (p: Promise<unknown>) => {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(FileRefusedError);
  return err as FileRefusedError;
};
const refusalSync = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(FileRefusedError);
    return e as FileRefusedError;
  }
  throw new Error('expected a refusal');
};

describe('reading files someone else may have put in place', () => {
  it('reads a regular file up to the bound, exactly at the bound, and an empty one', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'f'), 'x'.repeat(100));
    writeFileSync(join(dir, 'empty'), '');
    expect((await readRegularFile(join(dir, 'f'), 100)).toString()).toBe('x'.repeat(100));
    expect(readRegularFileSync(join(dir, 'f'), 100).length).toBe(100);
    expect((await readRegularFile(join(dir, 'empty'), 10)).length).toBe(0);
  });

  it('refuses a file larger than the bound without reading it all', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'big'), 'x'.repeat(101));
    expect((await refusal(readRegularFile(join(dir, 'big'), 100))).reason).toBe('too-large');
    expect(refusalSync(() => readRegularFileSync(join(dir, 'big'), 100)).message).toMatch(/larger than 100 bytes/);
  });

  it('does not follow a symbolic link unless asked, and then still refuses a device', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'target'), 'secret outside the volume');
    symlinkSync(join(dir, 'target'), join(dir, 'link'));
    symlinkSync('/dev/zero', join(dir, 'zero'));
    expect((await refusal(readRegularFile(join(dir, 'link'), 1000))).reason).toBe('symlink');
    expect((await readRegularFile(join(dir, 'link'), 1000, { followSymlinks: true })).toString()).toBe('secret outside the volume');
    const dev = await refusal(readRegularFile(join(dir, 'zero'), 1000, { followSymlinks: true }));
    expect(dev.reason).toBe('not-regular');
    expect(dev.message).toMatch(/a character device/);
    expect(refusalSync(() => readRegularFileSync('/dev/zero', 1 << 30, { followSymlinks: true })).reason).toBe('not-regular');
  });

  it('refuses a FIFO at once instead of blocking on it, and a directory', async () => {
    const dir = tempDir();
    execFileSync('mkfifo', [join(dir, 'fifo')]);
    mkdirSync(join(dir, 'sub'));
    const fifo = await refusal(readRegularFile(join(dir, 'fifo'), 1000));
    expect(fifo.message).toMatch(/a FIFO/);
    expect(refusalSync(() => readRegularFileSync(join(dir, 'fifo'), 1000)).reason).toBe('not-regular');
    expect((await refusal(readRegularFile(join(dir, 'sub'), 1000))).message).toMatch(/a directory/);
    // Opened for writing, a FIFO without a reader is refused too (ENXIO), not waited on.
    const flags = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT;
    expect((await refusal(openRegularFile(join(dir, 'fifo'), flags))).reason).toBe('not-regular');
  });

  it('does not create a file through a dangling link when opening for append', async () => {
    const dir = tempDir();
    symlinkSync(join(dir, 'elsewhere'), join(dir, 'journal'));
    const flags = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT;
    expect((await refusal(openRegularFile(join(dir, 'journal'), flags))).reason).toBe('symlink');
    expect(existsSync(join(dir, 'elsewhere'))).toBe(false);
    const handle = await openRegularFile(join(dir, 'real'), flags);
    await handle.write('line\n');
    await handle.close();
    expect((await readRegularFile(join(dir, 'real'), 10)).toString()).toBe('line\n');
  });
});
