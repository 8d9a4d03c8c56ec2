import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { removeIfExists, removeStaleTemporaries, writeFileAtomic } from '../../../src/shared/atomic-file.js';
import { tempDir } from '../../helpers/tmp.js';

/** A separate process that reads the file as fast as it can until told to stop, and counts what it saw. */
const READER = `
const fs = require('node:fs');
const path = process.argv[1];
let reads = 0, partial = 0, missing = 0; const versions = new Set();
let stop = false;
process.stdin.on('data', () => { stop = true; });
function loop() {
  for (let i = 0; i < 200 && !stop; i++) {
    let text;
    try { text = fs.readFileSync(path, 'utf8'); } catch { missing++; continue; }
    reads++;
    try { const o = JSON.parse(text); if (o.padding.length !== 200000) partial++; versions.add(o.version); } catch { partial++; }
  }
  if (stop) { process.stdout.write(JSON.stringify({ reads, partial, missing, versions: versions.size })); process.exit(0); }
  setImmediate(loop);
}
process.stdout.write('ready\\n');
loop();
`;

describe('writeFileAtomic', () => {
  it('writes the content with the exact mode, leaving no temporary file', async () => {
    const dir = tempDir();
    const path = join(dir, 'entitlement.json');
    const oldUmask = process.umask(0o077);
    try {
      await writeFileAtomic(path, '{"a":1}\n', 0o644);
    } finally {
      process.umask(oldUmask);
    }
    expect(readFileSync(path, 'utf8')).toBe('{"a":1}\n');
    expect(statSync(path).mode & 0o777).toBe(0o644);
    expect(readdirSync(dir)).toEqual(['entitlement.json']);
  });

  it('never lets a reader in another process see a partial file', async () => {
    const dir = tempDir();
    const path = join(dir, 'entitlement.json');
    const body = (version: number) => JSON.stringify({ version, padding: String(version % 10).repeat(200_000) });
    await writeFileAtomic(path, body(0), 0o644);
    const reader = spawn(process.execPath, ['-e', READER, path], { stdio: ['pipe', 'pipe', 'inherit'] });
    let output = '';
    reader.stdout.on('data', (c: Buffer) => (output += c.toString()));
    await new Promise<void>((resolve) => reader.stdout.once('data', () => resolve()));
    for (let v = 1; v <= 150; v++) await writeFileAtomic(path, body(v), 0o644);
    reader.stdin.write('stop\n');
    await new Promise((resolve) => reader.once('exit', resolve));
    const seen = JSON.parse(output.slice(output.indexOf('{'))) as { reads: number; partial: number; missing: number; versions: number };
    expect(seen.partial).toBe(0);
    expect(seen.missing).toBe(0);
    // The reader really raced the writer: it saw several versions go by.
    expect(seen.versions).toBeGreaterThan(2);
  });

  it('removes the temporary file when the write fails', async () => {
    const dir = tempDir();
    await expect(writeFileAtomic(join(dir, 'no-such-dir', 'x.json'), '{}', 0o644)).rejects.toThrow(/ENOENT/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('removeIfExists tells whether it removed something', async () => {
    const dir = tempDir();
    const path = join(dir, 'x');
    await writeFileAtomic(path, 'x', 0o644);
    expect(await removeIfExists(path)).toBe(true);
    expect(await removeIfExists(path)).toBe(false);
  });
});

describe('removeStaleTemporaries', () => {
  it("removes only this path's leftover temporary files", async () => {
    const dir = tempDir();
    const path = join(dir, 'entitlement.json');
    writeFileSync(join(dir, '.entitlement.json.123.abcdef.tmp'), '{"partial');
    writeFileSync(join(dir, '.other.json.123.abcdef.tmp'), 'x');
    writeFileSync(path, '{}');
    expect(await removeStaleTemporaries(path)).toBe(1);
    expect(readdirSync(dir).sort()).toEqual(['.other.json.123.abcdef.tmp', 'entitlement.json']);
  });
});
