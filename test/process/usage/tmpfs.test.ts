import { readFileSync, rmSync, statfsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../../src/emulator/index.js';
import { journalMaxBytesFor } from '../../../src/usage/volume.js';
import { sidecarAwsEnv } from '../../helpers/emulator.js';
import { startCli, type CliProcess } from '../../helpers/process.js';
import { cleanups, DIMENSIONS, PRODUCT, recorded, usageSettings } from '../../helpers/usage.js';
import { privateTmpfs, type PrivateTmpfs } from '../../helpers/tmpfs.js';

/**
 * The sidecar as a real process whose entitlement volume is a real 64 KiB tmpfs (the size the issue
 * was found on), against the emulator, with the real clock: SIGTERM sends the pod's current hour.
 */

const VOLUME = 64 * 1024;

async function emulator(): Promise<Emulator> {
  const emu = await startEmulator({ region: 'us-east-1', keyBits: 2048, dimensions: DIMENSIONS, productCodes: [PRODUCT], scenario: { rateLimit: null } });
  cleanups.push(() => emu.close());
  return emu;
}

async function start(emu: Emulator, fs: PrivateTmpfs): Promise<{ p: CliProcess; port: number }> {
  const env = { ...sidecarAwsEnv(emu, fs.dir), AWS_SESSION_TOKEN: 'pod-tmpfs', ...usageSettings(emu, fs.dir) };
  const p = startCli(['run'], env, fs.wrapper);
  const line = await p.waitForLine((l) => l.msg === 'usage intake listening');
  await p.waitForLine((l) => l.msg === 'entitled');
  return { p, port: Number(String(line.listen).split(':').pop()) };
}

async function stop(p: CliProcess) {
  p.child.kill('SIGTERM');
  return (await p.exited).code;
}

async function post(port: number, body: unknown) {
  const res = await fetch(`http://127.0.0.1:${port}/v1/usage`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Fills what is left of the volume, as another writer would. */
function fill(fs: PrivateTmpfs): void {
  try {
    writeFileSync(join(fs.view, 'filler'), Buffer.alloc(VOLUME));
  } catch (err) {
    expect((err as NodeJS.ErrnoException).code).toBe('ENOSPC');
  }
}

/** The journal as the next start would read it: whole lines of JSON, nothing else. */
function journalOn(fs: PrivateTmpfs): Buffer {
  return readFileSync(join(fs.view, 'usage-journal.ndjson'));
}

describe('usage metering on a real 64 KiB tmpfs, as a process', () => {
  it('filled by another writer: every 202 reaches AWS exactly once, a 503 records nothing, SIGTERM exits 0 saying what is left, and it recovers when space returns', async () => {
    const emu = await emulator();
    const fs = await privateTmpfs(VOLUME);
    const first = await start(emu, fs);
    let accepted = 0;
    let seq = 0;
    const reportUntilRefused = async () => {
      for (let i = 0; i < 2000; i++) {
        const r = await post(first.port, { dimension: 'gb_scanned', quantity: 1, id: `r-${seq++}` });
        if (r.status !== 202) return r;
        accepted++;
      }
      throw new Error('2000 reports fitted on a full volume');
    };

    fill(fs);
    const refused = await reportUntilRefused();
    expect(refused.status).toBe(503);
    // Space returns: reports are taken again, without a restart.
    rmSync(join(fs.view, 'filler'));
    for (let i = 0; i < 5; i++) expect((await post(first.port, { dimension: 'gb_scanned', quantity: 1, id: `r-${seq++}` })).status).toBe(202);
    accepted += 5;
    fill(fs);
    expect(await reportUntilRefused()).toMatchObject({ status: 503 });
    expect(journalOn(fs).includes(0)).toBe(false);

    expect(accepted).toBeGreaterThan(20);
    // SIGTERM on the full volume: the hour's record cannot be journaled, so it is not sent; no crash.
    expect(await stop(first.p)).toBe(0);
    expect(first.p.lines().find((l) => String(l.msg).startsWith('stopping with'))).toMatchObject({ level: 'error', unsentUnits: { gb_scanned: accepted } });
    expect(first.p.lines().some((l) => l.msg === 'all usage sent')).toBe(false);
    const journal = journalOn(fs);
    expect(journal.includes(0)).toBe(false);
    expect(journal.at(-1)).toBe(0x0a);
    for (const line of journal.toString('utf8').trim().split('\n')) expect(() => JSON.parse(line)).not.toThrow();

    // Space again, a restart in the same pod: everything answered 202 goes out once.
    rmSync(join(fs.view, 'filler'));
    const second = await start(emu, fs);
    expect(second.p.lines().some((l) => String(l.msg).startsWith('usage journal has invalid lines'))).toBe(false);
    expect(await stop(second.p)).toBe(0);
    expect(second.p.lines().some((l) => l.msg === 'all usage sent')).toBe(true);
    expect(recorded(emu)).toEqual({ gb_scanned: accepted });
    expect(refused.body).toMatchObject({ reason: 'write_failed' });
  });

  it('at its bound: 503 journal_full with room left on the volume, SIGTERM sends what was taken, and a restart on that volume keeps a valid entitlement file', async () => {
    const emu = await emulator();
    const fs = await privateTmpfs(VOLUME);
    const first = await start(emu, fs);
    let accepted = 0;
    let refused: Awaited<ReturnType<typeof post>> | undefined;
    // A tag set per report, so compaction has nothing to merge and the journal really reaches its bound.
    for (let i = 0; i < 2000 && refused === undefined; i++) {
      const r = await post(first.port, { dimension: 'requests', quantity: 1, tags: { job: `job-${i}` }, id: `j-${i}` });
      if (r.status === 202) accepted++;
      else refused = r;
    }
    expect(refused?.status).toBe(503);
    // Usage never takes the room kept for the entitlement file.
    const free = statfsSync(fs.view);
    expect(free.bavail * free.bsize).toBeGreaterThanOrEqual(VOLUME - 2 * journalMaxBytesFor(VOLUME) - 8192);
    expect(statSync(join(fs.view, 'usage-journal.ndjson')).size).toBeLessThanOrEqual(journalMaxBytesFor(VOLUME));
    expect(refused?.body).toMatchObject({ reason: 'journal_full' });
    expect(accepted).toBeGreaterThan(50);

    expect(await stop(first.p)).toBe(0);
    expect(recorded(emu)).toEqual({ requests: accepted });
    expect(first.p.lines().some((l) => l.msg === 'all usage sent')).toBe(true);

    const second = await start(emu, fs);
    const entitlement = JSON.parse(readFileSync(join(fs.view, 'entitlement.json'), 'utf8')) as { productCode: string; signature: string };
    expect(entitlement.productCode).toBe(PRODUCT);
    expect(entitlement.signature.split('.')).toHaveLength(3);
    expect(await stop(second.p)).toBe(0);
    expect(recorded(emu)).toEqual({ requests: accepted });
  });
});
