import { MarketplaceMeteringClient } from '@aws-sdk/client-marketplace-metering';
import { join } from 'node:path';
import { afterEach, expect } from 'vitest';
import { DEFAULT_EMULATOR_CREDENTIALS, startEmulator, type Emulator, type Scenario } from '../../src/emulator/index.js';

import { Registry } from 'prom-client';
import { startUsage, type UsageOptions, type UsageRuntime } from '../../src/usage/index.js';
import type { OpenJournalHandle } from '../../src/usage/journal-file.js';
import type { JournalLimits } from '../../src/usage/volume.js';
import { captureLogs } from './logs.js';
import { startTestSidecar } from './sidecar.js';

/** The usage tests' shared pieces: one hand-moved clock, the emulator on it, the sidecar in-process. */

export const PRODUCT = 'prod-usage0000000000000000';
export const DIMENSIONS = ['gb_scanned', 'requests'];
export const QUICK = { baseDelayMs: 100, maxDelayMs: 1000, jitter: 'full' } as const;
const CRED = DEFAULT_EMULATOR_CREDENTIALS[0] as (typeof DEFAULT_EMULATOR_CREDENTIALS)[number];

/**
 * One clock for the emulator, the sidecar's usage code and the SDK's request signing, moved by hand:
 * hour boundaries are crossed without waiting.
 */
export function manualClock(start: number) {
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

export const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

export async function emulatorAt(clock: ReturnType<typeof manualClock>, scenario: Partial<Scenario> = {}, dimensions = DIMENSIONS): Promise<Emulator> {
  const emu = await startEmulator({ region: 'us-east-1', keyBits: 2048, dimensions, productCodes: [PRODUCT], now: () => new Date(clock.now()), scenario: { rateLimit: null, ...scenario } });
  cleanups.push(() => emu.close());
  return emu;
}

/** The sidecar's own settings for metering usage against `emu`, with its files in `dir`. */
export function usageSettings(emu: Emulator, dir: string): Record<string, string> {
  return {
    MARKETPLACE_PRODUCT_CODE: PRODUCT,
    MARKETPLACE_PUBLIC_KEY: emu.publicKeyPem,
    ENTITLEMENT_FILE: join(dir, 'entitlement.json'),
    ENTITLEMENT_LISTEN: '127.0.0.1:0',
    MARKETPLACE_USAGE_DIMENSIONS: DIMENSIONS.join(','),
    ENTITLEMENT_USAGE_LISTEN: '127.0.0.1:0',
  };
}

/** The sidecar in-process (the one harness, helpers/sidecar.ts), metering usage, on `dir`; resolves once it has decided. */
export async function sidecarAt(emu: Emulator, clock: ReturnType<typeof manualClock>, dir: string) {
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

export async function report(port: number, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`http://127.0.0.1:${port}/v1/usage`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Random reports; returns the units reported per dimension. */
export async function reportRandomly(port: number, seed: number, count: number): Promise<Record<string, number>> {
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
export function recorded(emu: Emulator): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of emu.records().filter((x) => x.operation === 'MeterUsage')) out[r.dimension] = (out[r.dimension] ?? 0) + r.quantity;
  return out;
}

/** Ticks the forwarder, moving the clock past backoffs, until every record is settled (bounded). */
export async function settleAll(usage: UsageRuntime, clock: ReturnType<typeof manualClock>) {
  for (let i = 0; i < 200; i++) {
    await usage.forwarder.tick();
    if (usage.ledger.unsettled().length === 0) return;
    clock.advance(2000);
  }
  throw new Error('records still unsettled after 200 passes');
}

/**
 * Ten minutes into an hour, on a quiet day (mid-month, mid-year): the emulator, the SDK's signing and
 * the sidecar all run on the hand-moved clock from there, so no test depends on when the suite runs.
 */
export const startOfTest = () => Date.parse('2027-06-15T12:10:00.000Z');

/**
 * Usage metering alone, in-process (no RegisterUsage), on `dir`: for tests that set the journal's bound
 * or inject faults at its FileHandle boundary. Stopped after the test.
 */
export async function usageAt(
  emu: Emulator,
  clock: ReturnType<typeof manualClock>,
  dir: string,
  o: { readonly journalLimits?: JournalLimits; readonly openJournalHandle?: OpenJournalHandle; readonly onEvent?: UsageOptions['onEvent'] } = {},
) {
  const logs = captureLogs();
  const registry = new Registry();
  const runtime = await startUsage({
    config: { dimensions: DIMENSIONS, listen: { host: '127.0.0.1', port: 0 }, journalFile: join(dir, 'usage-journal.ndjson') },
    client: clock.client(emu.url),
    productCode: PRODUCT,
    logger: logs.logger,
    registry,
    now: clock.now,
    backoff: { throttled: QUICK, transient: QUICK },
    attemptTimeoutMs: 5000,
    ...o,
  });
  let stopped: ReturnType<UsageRuntime['stop']> | undefined;
  const stop = () => (stopped ??= runtime.stop(clock.now()));
  cleanups.push(stop);
  return { runtime, logs, registry, port: runtime.address.port, stop };
}
