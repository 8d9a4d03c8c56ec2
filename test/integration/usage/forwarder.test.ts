import { MarketplaceMeteringClient } from '@aws-sdk/client-marketplace-metering';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { HOUR_MS, startOfHour } from '../../../src/shared/time.js';
import { DEFAULT_EMULATOR_CREDENTIALS, startEmulator } from '../../../src/emulator/index.js';
import { UsageForwarder } from '../../../src/usage/forwarder.js';
import { judge } from '../../../src/usage/verdict.js';
import { startMetering } from '../../../src/usage/index.js';
import { UsageJournal } from '../../../src/usage/journal.js';
import { UsageLedger } from '../../../src/usage/ledger.js';
import { createUsageMetrics } from '../../../src/usage/metrics.js';
import { DEFAULT_JOURNAL_MAX_BYTES, journalLimits } from '../../../src/usage/volume.js';
import { QUIET_INSTANT } from '../../helpers/clock.js';
import { meteringClient } from '../../helpers/emulator.js';
import { faultServer } from '../../helpers/fault-server.js';
import { captureLogs } from '../../helpers/logs.js';
import { tempDir } from '../../helpers/tmp.js';

const CRED = DEFAULT_EMULATOR_CREDENTIALS[0] as (typeof DEFAULT_EMULATOR_CREDENTIALS)[number];
const QUICK = { baseDelayMs: 10, maxDelayMs: 20, jitter: 'full' } as const;
const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

describe('UsageForwarder', () => {
  it('tells the operator through onEvent when usage is carried forward or left unreconciled, and counts the units', async () => {
    const now = Date.parse(QUIET_INSTANT);
    const emu = await startEmulator({ region: 'us-east-1', keyBits: 2048, scenario: { rateLimit: null }, now: () => new Date(now) });
    closers.push(() => emu.close());
    const client = meteringClient(emu, { now: () => new Date(now) });
    const ledger = new UsageLedger();
    const journal = await UsageJournal.open({ path: join(tempDir(), 'usage-journal.ndjson'), ledger, logger: captureLogs().logger, dimensions: ['gb', 'req'], limits: journalLimits(DEFAULT_JOURNAL_MAX_BYTES) });
    closers.push(() => journal.close());
    const old = startOfHour(now) - 9 * HOUR_MS;
    await journal.append([
      { k: 'u', at: old, d: 'gb', q: 5 },
      { k: 's', tok: 'clean', h: old, d: 'gb', from: [[old, '', 5]] },
      { k: 'u', at: old, d: 'req', q: 3 },
      { k: 's', tok: 'maybe', h: old, d: 'req', from: [[old, '', 3]] },
      { k: 'x', tok: 'maybe' },
    ]);
    const registry = new Registry();
    const metrics = createUsageMetrics(registry, ['gb', 'req']);
    const events: { reason: string; message: string }[] = [];
    const forwarder = new UsageForwarder({
      ledger, journal, client, productCode: 'prod-x', logger: captureLogs().logger, metrics,
      now: () => now, backoff: { throttled: QUICK, transient: QUICK }, attemptTimeoutMs: 5000, sendDelayMs: 120_000,
      onEvent: (e) => events.push(e),
    });
    await forwarder.tick();
    expect(events.map((e) => e.reason).sort()).toEqual(['UsageCarriedForward', 'UsageUnreconciled']);
    expect(events.find((e) => e.reason === 'UsageUnreconciled')?.message).toMatch(/^3 units of req .* TimestampOutOfBoundsException .*Action: reconcile/);
    const text = await registry.metrics();
    expect(text).toContain('marketplace_entitlement_usage_carried_forward_units_total{dimension="gb"} 5');
    expect(text).toContain('marketplace_entitlement_usage_unreconciled_units_total{dimension="req"} 3');
    // The carried units go into the due hour's record, made and sent on the next pass.
    await forwarder.tick();
    expect(await registry.metrics()).toContain('marketplace_entitlement_usage_sent_units_total{dimension="gb"} 5');
  });
});

describe("AWS's error messages", () => {
  it('are scrubbed of credentials before they reach the log and the journal', async () => {
    const secret = 'IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQDexampleSessionTokenValue';
    const aws = await faultServer([], { kind: 'error', status: 400, type: 'InvalidSignatureException', message: `The Canonical String for this request should have been 'POST / x-amz-security-token:${secret}'` });
    const client = new MarketplaceMeteringClient({ endpoint: aws.url, region: 'us-east-1', maxAttempts: 1, credentials: CRED });
    const path = join(tempDir(), 'usage-journal.ndjson');
    const ledger = new UsageLedger();
    const journal = await UsageJournal.open({ path, ledger, logger: captureLogs().logger, dimensions: ['gb'], limits: journalLimits(DEFAULT_JOURNAL_MAX_BYTES) });
    closers.push(() => journal.close());
    const h = startOfHour(Date.parse(QUIET_INSTANT)) - HOUR_MS;
    await journal.append([{ k: 'u', at: h, d: 'gb', q: 5 }, { k: 's', tok: 'tok-1', h, d: 'gb', from: [[h, '', 5]] }]);
    const logs = captureLogs();
    const events: string[] = [];
    const forwarder = new UsageForwarder({
      ledger, journal, client, productCode: 'prod-x', logger: logs.logger, metrics: createUsageMetrics(new Registry(), ['gb']),
      now: () => h + HOUR_MS + 5 * 60_000, backoff: { throttled: QUICK, transient: QUICK }, attemptTimeoutMs: 5000, sendDelayMs: 120_000,
      onEvent: (e) => events.push(e.message),
    });
    await forwarder.tick();
    await journal.settled();
    expect(logs.lines.find((l) => l.msg.startsWith('usage carried forward'))?.why).toMatch(/^InvalidSignatureException: The Canonical String for this request should have been \[redacted\]/);
    expect(logs.text() + readFileSync(path, 'utf8') + events.join('\n')).not.toContain(secret);
  });

  it('are scrubbed in the outcome of a refused dry run (it reaches /healthz and pod Events)', async () => {
    const secret = 'IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQDexampleSessionTokenValue';
    const aws = await faultServer([], { kind: 'error', status: 400, type: 'AccessDeniedException', message: `denied; x-amz-security-token: ${secret}` });
    const client = new MarketplaceMeteringClient({ endpoint: aws.url, region: 'us-east-1', maxAttempts: 1, credentials: CRED });
    const result = await startMetering({
      config: { dimensions: ['gb'], listen: { host: '127.0.0.1', port: 0 }, journalFile: join(tempDir(), 'usage-journal.ndjson') },
      client, productCode: 'prod-x', logger: captureLogs().logger, registry: new Registry(), now: () => Date.parse(QUIET_INSTANT),
      backoff: { throttled: QUICK, transient: QUICK }, attemptTimeoutMs: 5000, signal: new AbortController().signal, remainingMs: 5000,
    });
    expect(result).toMatchObject({ kind: 'failed', code: 'METERING_DRY_RUN_FAILED' });
    const message = (result as { message: string }).message;
    expect(message).toContain('x-amz-security-token: [redacted]');
    expect(message).not.toContain(secret);
  });
});

describe('judge', () => {
  const err = (name: string, status?: number, code?: string) =>
    Object.assign(new Error(name), { name, ...(code ? { code } : {}), ...(status ? { $metadata: { httpStatusCode: status } } : {}) });
  it.each([
    ['ThrottlingException', 400, undefined, { kind: 'retry', throttled: true, ambiguous: false }],
    ['InternalServiceErrorException', 500, undefined, { kind: 'retry', ambiguous: true }],
    ['Error', undefined, 'ECONNREFUSED', { kind: 'retry', ambiguous: false }],
    ['Error', undefined, 'ECONNRESET', { kind: 'retry', ambiguous: true }],
    ['DuplicateRequestException', 400, undefined, { kind: 'refused', alwaysCarry: true }],
    ['TimestampOutOfBoundsException', 400, undefined, { kind: 'refused', alwaysCarry: false }],
    ['IdempotencyConflictException', 400, undefined, { kind: 'conflict' }],
  ] as const)('%s (%s %s) is %j', (name, status, code, verdict) => {
    expect(judge(err(name, status, code), false)).toMatchObject(verdict);
  });
  it('treats an attempt that timed out as ambiguous: it may have landed', () => {
    expect(judge(err('AbortError'), true)).toMatchObject({ kind: 'retry', ambiguous: true });
  });
});
