import { MarketplaceMeteringClient } from '@aws-sdk/client-marketplace-metering';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_EMULATOR_CREDENTIALS, startEmulator, type Emulator, type Scenario } from '../../src/emulator/index.js';
import { HOUR_MS, hourOf, type JournalLine } from '../../src/usage/ledger.js';
import type { UsageRuntime } from '../../src/usage/index.js';
import { sidecarAwsEnv } from '../helpers/emulator.js';
import { startTestSidecar } from '../helpers/sidecar.js';
import { startCli, type CliProcess } from '../helpers/process.js';
import { tempDir } from '../helpers/tmp.js';

const PRODUCT = 'prod-usage0000000000000000';
const DIMENSIONS = ['gb_scanned', 'requests'];
const QUICK = { baseDelayMs: 100, maxDelayMs: 1000, jitter: 'full' } as const;
const CRED = DEFAULT_EMULATOR_CREDENTIALS[0] as (typeof DEFAULT_EMULATOR_CREDENTIALS)[number];

/**
 * One clock for the emulator, the sidecar's usage code and the SDK's request signing, moved by hand:
 * hour boundaries are crossed without waiting.
 */
function manualClock(start: number) {
  let t = start;
  const clients: MarketplaceMeteringClient[] = [];
  const sync = (c: MarketplaceMeteringClient) => ((c.config as unknown as { systemClockOffset: number }).systemClockOffset = t - Date.now());
  return {
    now: () => t,
    advance(ms: number) {
      t += ms;
      clients.forEach(sync);
    },
    client(url: string) {
      const c = new MarketplaceMeteringClient({ endpoint: url, region: 'us-east-1', maxAttempts: 1, credentials: { accessKeyId: CRED.accessKeyId, secretAccessKey: CRED.secretAccessKey, sessionToken: 'pod-1' } });
      sync(c);
      clients.push(c);
      return c;
    },
  };
}

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function emulatorAt(clock: ReturnType<typeof manualClock>, scenario: Partial<Scenario> = {}, dimensions = DIMENSIONS): Promise<Emulator> {
  const emu = await startEmulator({ region: 'us-east-1', keyBits: 2048, dimensions, productCodes: [PRODUCT], now: () => new Date(clock.now()), scenario: { rateLimit: null, ...scenario } });
  cleanups.push(() => emu.close());
  return emu;
}

/** The sidecar's own settings for metering usage against `emu`, with its files in `dir`. */
function usageSettings(emu: Emulator, dir: string): Record<string, string> {
  return {
    MARKETPLACE_PRODUCT_CODE: PRODUCT,
    MARKETPLACE_PUBLIC_KEY: emu.publicKeyPem,
    ENTITLEMENT_FILE: join(dir, 'entitlement.json'),
    ENTITLEMENT_LISTEN: '127.0.0.1:0',
    MARKETPLACE_USAGE_DIMENSIONS: DIMENSIONS.join(','),
    ENTITLEMENT_USAGE_LISTEN: '127.0.0.1:0',
  };
}

/** The sidecar in-process, metering usage, on `dir`; resolves once the usage intake listens. */
async function sidecarAt(emu: Emulator, clock: ReturnType<typeof manualClock>, dir: string) {
  const t = await startTestSidecar(emu, {
    dir,
    settings: usageSettings(emu, dir),
    client: () => clock.client(emu.url),
    now: clock.now,
    tuning: { retry: { throttled: QUICK, transient: QUICK, attemptTimeoutMs: 10_000 } },
  });
  const stop = async () => void (await t.stop());
  cleanups.push(stop);
  return { snapshot: t.snapshot, usage: t.sidecar.usage() as UsageRuntime, logs: t.logs, stop };
}

async function report(port: number, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`http://127.0.0.1:${port}/v1/usage`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Random reports; returns the units reported per dimension. */
async function reportRandomly(port: number, seed: number, count: number): Promise<Record<string, number>> {
  let s = seed;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const totals: Record<string, number> = {};
  for (let i = 0; i < count; i++) {
    const dimension = DIMENSIONS[Math.floor(rnd() * DIMENSIONS.length)] as string;
    const quantity = Math.floor(rnd() * 500);
    const tags = rnd() < 0.5 ? { team: rnd() < 0.5 ? 'analytics' : 'web' } : undefined;
    const r = await report(port, { dimension, quantity, ...(tags ? { tags } : {}) });
    expect(r.status).toBe(202);
    totals[dimension] = (totals[dimension] ?? 0) + quantity;
  }
  return totals;
}

/** Units AWS (the emulator) holds per dimension. */
function recorded(emu: Emulator): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of emu.records().filter((x) => x.operation === 'MeterUsage')) out[r.dimension] = (out[r.dimension] ?? 0) + r.quantity;
  return out;
}

/** Ticks the forwarder, moving the clock past backoffs, until every record is settled (bounded). */
async function settleAll(usage: UsageRuntime, clock: ReturnType<typeof manualClock>) {
  for (let i = 0; i < 200; i++) {
    await usage.forwarder.tick();
    if (usage.ledger.unsettled().length === 0) return;
    clock.advance(2000);
  }
  throw new Error('records still unsettled after 200 passes');
}

/**
 * Ten minutes into an hour that has already begun, so the clock never runs ahead of real time: the
 * sidecar checks a token's iat against the real clock.
 */
const startOfTest = () => hourOf(Date.now() - 11 * 60_000) + 10 * 60_000;

describe('usage metering through the sidecar, against the emulator', () => {
  it('dry-runs each dimension at start, never sends an hour early, then sends each closed hour once, totals exact', async () => {
    const clock = manualClock(startOfTest());
    const emu = await emulatorAt(clock);
    const { snapshot, usage } = await sidecarAt(emu, clock, tempDir());
    expect(snapshot.code).toBe('ENTITLED');
    expect(emu.calls().filter((c) => c.operation === 'MeterUsage').length).toBe(DIMENSIONS.length);
    expect(emu.records()).toEqual([]);

    const hour = hourOf(clock.now());
    const totals = await reportRandomly(usage.address.port, 7, 60);
    clock.advance(HOUR_MS - 11 * 60_000); // 59 minutes into the hour: still open
    await usage.forwarder.tick();
    expect(emu.records()).toEqual([]);

    clock.advance(3 * 60_000); // the hour closed 2 minutes ago
    await settleAll(usage, clock);
    expect(recorded(emu)).toEqual(totals);
    const records = emu.records().filter((r) => r.operation === 'MeterUsage');
    expect(records.every((r) => Date.parse(r.hour) === hour)).toBe(true);
    expect(records).toHaveLength(Object.keys(totals).length);
    // Tagged usage went as allocations whose quantities add up to the record's.
    for (const r of records) expect((r.allocations ?? []).reduce((n, a) => n + a.quantity, 0) || r.quantity).toBe(r.quantity);
  });

  it('keeps totals exact through throttling and server errors, without a duplicate', async () => {
    const clock = manualClock(startOfTest());
    const emu = await emulatorAt(clock);
    const { usage, logs } = await sidecarAt(emu, clock, tempDir());
    const totals = await reportRandomly(usage.address.port, 11, 40);
    emu.setScenario({ throttle: 3, internalError: 2, faultOperations: ['MeterUsage'] });
    clock.advance(HOUR_MS);
    await settleAll(usage, clock);
    expect(recorded(emu)).toEqual(totals);
    expect(emu.calls().some((c) => c.outcome === 'DuplicateRequestException')).toBe(false);
    expect(logs.lines.filter((l) => l.msg === 'MeterUsage failed transiently; retrying the same record').length).toBeGreaterThanOrEqual(5);
  });

  it('continues from the journal after a restart in the same pod without sending anything twice', async () => {
    const clock = manualClock(startOfTest());
    const emu = await emulatorAt(clock);
    const dir = tempDir();
    const first = await sidecarAt(emu, clock, dir);
    const a = await reportRandomly(first.usage.address.port, 3, 10);
    // SIGTERM: the pod's current hour goes out before exit.
    await first.stop();
    expect(recorded(emu)).toEqual(a);

    const second = await sidecarAt(emu, clock, dir);
    const b = await reportRandomly(second.usage.address.port, 5, 10);
    // Hour H already has its record (sent at the first shutdown): these units go into hour H+1's.
    clock.advance(2 * HOUR_MS);
    await settleAll(second.usage, clock);
    const sum: Record<string, number> = { ...a };
    for (const [d, q] of Object.entries(b)) sum[d] = (sum[d] ?? 0) + q;
    expect(recorded(emu)).toEqual(sum);
    expect(emu.calls().some((c) => c.outcome === 'DuplicateRequestException')).toBe(false);
  });

  it('answers 400 naming the problem, and counts a report with a seen id once', async () => {
    const clock = manualClock(startOfTest());
    const emu = await emulatorAt(clock);
    const { usage } = await sidecarAt(emu, clock, tempDir());
    const port = usage.address.port;
    expect(await report(port, { dimension: 'nope', quantity: 1 })).toMatchObject({ status: 400, body: { error: 'dimension must be one of: gb_scanned, requests' } });
    expect((await report(port, { dimension: 'requests', quantity: 1.5 })).body.error).toBe('quantity must be an integer from 0 to 2147483647');
    expect((await report(port, { dimension: 'requests', quantity: -1 })).status).toBe(400);
    expect((await report(port, { dimension: 'requests', quantity: 1, tags: { 'bad!': 'x' } })).body.error).toMatch(/tag name "bad!" must be 1-100 characters/);
    expect((await report(port, { dimension: 'requests', quantity: 1, tags: { a: '1', b: '2', c: '3', d: '4', e: '5', f: '6' } })).body.error).toBe('tags must hold 1 to 5 tags');
    expect((await report(port, { dimension: 'requests', quantity: 4, id: 'r-1' })).status).toBe(202);
    expect(await report(port, { dimension: 'requests', quantity: 4, id: 'r-1' })).toMatchObject({ status: 200, body: { duplicate: true } });
    clock.advance(HOUR_MS);
    await settleAll(usage, clock);
    expect(recorded(emu)).toEqual({ requests: 4 });
  });

  it('carries usage AWS refuses as a duplicate (its journal was lost) into the next hour', async () => {
    const clock = manualClock(startOfTest());
    const emu = await emulatorAt(clock);
    const dir = tempDir();
    const first = await sidecarAt(emu, clock, dir);
    expect((await report(first.usage.address.port, { dimension: 'requests', quantity: 10 })).status).toBe(202);
    await first.stop();
    rmSync(join(dir, 'usage-journal.ndjson'));

    const second = await sidecarAt(emu, clock, dir);
    expect((await report(second.usage.address.port, { dimension: 'requests', quantity: 7 })).status).toBe(202);
    // Its shutdown sends the same hour again, with another quantity: AWS refuses it; the units stay pending.
    await second.stop();
    expect(emu.calls().some((c) => c.outcome === 'DuplicateRequestException')).toBe(true);
    expect(second.logs.lines.some((l) => l.msg.startsWith('usage carried forward') && l.awsError === 'DuplicateRequestException')).toBe(true);

    const third = await sidecarAt(emu, clock, dir);
    // Carried units of hour H go into hour H+1's record, sent once H+1 has closed.
    clock.advance(2 * HOUR_MS);
    await settleAll(third.usage, clock);
    expect(recorded(emu)).toEqual({ requests: 17 });
  });

  it('carries a record that fell out of the time window, but never resends one whose first attempt may have landed', async () => {
    const clock = manualClock(startOfTest());
    const emu = await emulatorAt(clock);
    const dir = tempDir();
    const old = hourOf(clock.now()) - 8 * HOUR_MS;
    const lines: JournalLine[] = [
      { k: 'u', at: old, d: 'requests', q: 5 },
      { k: 's', tok: 'clean-old-record', h: old, d: 'requests', from: [[old, '', 5]] },
      { k: 'u', at: old, d: 'gb_scanned', q: 9 },
      { k: 's', tok: 'maybe-delivered', h: old, d: 'gb_scanned', from: [[old, '', 9]] },
      { k: 'x', tok: 'maybe-delivered' },
    ];
    writeFileSync(join(dir, 'usage-journal.ndjson'), lines.map((l) => `${JSON.stringify(l)}\n`).join(''));
    const { usage, logs } = await sidecarAt(emu, clock, dir);
    clock.advance(HOUR_MS);
    await settleAll(usage, clock);
    expect(emu.calls().filter((c) => c.outcome === 'TimestampOutOfBoundsException')).toHaveLength(2);
    // The clean record's units went into a current hour's record; the ambiguous one's were not resent.
    expect(recorded(emu)).toEqual({ requests: 5 });
    expect(logs.lines.some((l) => l.level === 'error' && l.msg.startsWith('usage unreconciled') && l.quantity === 9)).toBe(true);
  });
});

describe('the MeterUsage dry run at start', () => {
  it('turns an unknown dimension into a misconfigured status: no entitlement file, no intake', async () => {
    const clock = manualClock(startOfTest());
    const emu = await emulatorAt(clock, {}, ['gb_scanned']);
    const dir = tempDir();
    const { snapshot, usage } = await sidecarAt(emu, clock, dir);
    expect(snapshot).toMatchObject({ status: 'misconfigured', code: 'USAGE_DIMENSION_INVALID', awsError: 'InvalidUsageDimensionException' });
    expect(snapshot.message).toContain('dimension "requests"');
    expect(usage).toBeUndefined();
    expect(existsSync(join(dir, 'entitlement.json'))).toBe(false);
  });

  it('turns any other refusal into METERING_DRY_RUN_FAILED', async () => {
    const clock = manualClock(startOfTest());
    const emu = await emulatorAt(clock, { mode: 'disabled-api', faultOperations: ['MeterUsage'] });
    const { snapshot } = await sidecarAt(emu, clock, tempDir());
    expect(snapshot).toMatchObject({ status: 'misconfigured', code: 'METERING_DRY_RUN_FAILED', awsError: 'DisabledApiException' });
  });

  it('retries a throttled dry run and then starts', async () => {
    const clock = manualClock(startOfTest());
    const emu = await emulatorAt(clock, { throttle: 2, faultOperations: ['MeterUsage'] });
    const { snapshot, usage } = await sidecarAt(emu, clock, tempDir());
    expect(snapshot.code).toBe('ENTITLED');
    expect(usage).toBeDefined();
    expect(emu.calls().filter((c) => c.operation === 'MeterUsage' && c.outcome === 'ThrottlingException')).toHaveLength(2);
  });
});

describe('usage metering as a real process', () => {
  async function start(emu: Emulator, dir: string): Promise<{ p: CliProcess; port: number }> {
    const p = startCli(['run'], { ...sidecarAwsEnv(emu, dir), AWS_SESSION_TOKEN: 'pod-7', ...usageSettings(emu, dir) });
    const line = await p.waitForLine((l) => l.msg === 'usage intake listening');
    return { p, port: Number(String(line.listen).split(':').pop()) };
  }

  it('loses nothing to a kill -9 between intake and send: the restarted sidecar sends it at SIGTERM', async () => {
    const emu = await startEmulator({ region: 'us-east-1', keyBits: 2048, dimensions: DIMENSIONS, productCodes: [PRODUCT] });
    cleanups.push(() => emu.close());
    const dir = tempDir();
    const first = await start(emu, dir);
    const totals = await reportRandomly(first.port, 13, 30);
    first.p.child.kill('SIGKILL');
    await first.p.exited;
    expect(emu.records()).toEqual([]);

    const second = await start(emu, dir);
    second.p.child.kill('SIGTERM');
    expect((await second.p.exited).code).toBe(0);
    expect(second.p.lines().some((l) => l.msg === 'all usage sent')).toBe(true);
    expect(recorded(emu)).toEqual(totals);
  });
});
