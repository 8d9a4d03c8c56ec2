import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_TERMINATION_MESSAGE_BYTES, truncateUtf8, writeTerminationMessage } from '../../../src/shared/termination-message.js';
import { terminationMessage } from '../../../src/sidecar/register.js';
import { tempDir } from '../../helpers/tmp.js';

describe('the termination message', () => {
  it('is cut at 4096 bytes on a character boundary, never inside a UTF-8 sequence', () => {
    expect(truncateUtf8('abc', 10).toString()).toBe('abc');
    // 'é' is 2 bytes, '€' 3: a cut inside either drops the whole character.
    expect(truncateUtf8('aé', 2).toString()).toBe('a');
    expect(truncateUtf8('a€b', 3).toString()).toBe('a');
    expect(truncateUtf8('a€b', 4).toString()).toBe('a€');
    const long = '€'.repeat(2000); // 6000 bytes
    const cut = truncateUtf8(long, MAX_TERMINATION_MESSAGE_BYTES);
    expect(cut.length).toBeLessThanOrEqual(MAX_TERMINATION_MESSAGE_BYTES);
    expect(cut.length % 3).toBe(0);
    expect(cut.toString('utf8')).toBe('€'.repeat(cut.length / 3));
  });

  it('replaces what the file held and keeps to the bound', async () => {
    const file = join(tempDir(), 'termination-log');
    writeFileSync(file, 'x'.repeat(10_000));
    expect(await writeTerminationMessage(file, `not_entitled: ${'y'.repeat(5000)}`)).toEqual({ written: true });
    const text = readFileSync(file, 'utf8');
    expect(text.length).toBe(MAX_TERMINATION_MESSAGE_BYTES);
    expect(text.startsWith('not_entitled: y')).toBe(true);
    expect(text).not.toContain('x');
  });

  it('is not written to a FIFO, a directory or a path that does not exist (nothing is created)', async () => {
    const dir = tempDir();
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    // No reader: a blocking open would hang; O_NONBLOCK fails at once.
    expect(await writeTerminationMessage(fifo, 'x')).toEqual({ written: false, why: 'ENXIO' });
    expect(await writeTerminationMessage(dir, 'x')).toMatchObject({ written: false });
    const absent = join(dir, 'absent');
    expect(await writeTerminationMessage(absent, 'x')).toEqual({ written: false, why: 'ENOENT' });
    expect(existsSync(absent)).toBe(false);
  });

  it('says the status, the code, what happened and, unless entitled, what to do', () => {
    const base = { since: '2026-12-02T00:00:00.000Z', action: 'Subscribe to the product.' } as const;
    expect(terminationMessage({ ...base, status: 'not_entitled', code: 'CUSTOMER_NOT_ENTITLED', message: 'the account is not subscribed.' })).toBe(
      'not_entitled (CUSTOMER_NOT_ENTITLED): the account is not subscribed. Action: Subscribe to the product.',
    );
    expect(terminationMessage({ ...base, status: 'entitled', code: 'ENTITLED', message: 'entitled to prod-x' })).toBe('entitled (ENTITLED): entitled to prod-x.');
    expect(terminationMessage(undefined, 'SIGTERM')).toMatch(/^stopped by SIGTERM before RegisterUsage had an outcome/);
  });
});
