import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_EMULATOR_CREDENTIALS } from '../../../src/emulator/index.js';
import { DIMENSION, EDGE_INSTANTS, JSON_TYPE, manualClock, meter, meteringClient, PRODUCT, QUIET, rawRequest, register, rejection, signedRequest, startTestEmulator } from '../../helpers/emulator-requests.js';
import type { TestEmulator } from '../../helpers/emulator-requests.js';

const HOUR = 3_600_000;
const MINUTE = 60_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

// Hours are taken from the emulator's clock, so the suite reads the same at any instant; the edges
// (the last second of an hour, a year; a leap day) show it. Hour rounding at exact boundaries is in calendar.test.ts.
describe.each([QUIET, ...EDGE_INSTANTS])('MeterUsage through the AWS SDK v3, the emulator\'s clock at %s', (instant) => {
  const clock = manualClock(instant);
  let emulator: TestEmulator;
  beforeAll(async () => {
    emulator = await startTestEmulator({ clock, scenario: { meterUsageRateLimit: null, rateLimit: null } });
  });
  afterAll(() => emulator.close());
  beforeEach(() => {
    emulator.reset();
    emulator.setScenario({ mode: 'entitled', faultOperations: null });
  });

  const pod = (name = 'pod-a') => meteringClient(emulator, { sessionToken: name });
  const lastHour = () => new Date(Math.floor(clock.now().getTime() / HOUR) * HOUR - HOUR);
  const at = (base: Date, ms: number) => new Date(base.getTime() + ms);

  it('answers a MeteringRecordId and records the usage with its caller, hour and allocations', async () => {
    const hour = lastHour();
    const out = await meter(pod(), {
      Timestamp: at(hour, 42 * MINUTE),
      UsageQuantity: 12,
      UsageAllocations: [
        { AllocatedUsageQuantity: 5, Tags: [{ Key: 'team', Value: 'web' }] },
        { AllocatedUsageQuantity: 7 },
      ],
      ClientToken: 'token-0001',
    });
    expect(out.MeteringRecordId).toMatch(UUID);
    expect(emulator.records()).toEqual([
      {
        operation: 'MeterUsage',
        meteringRecordId: out.MeteringRecordId,
        caller: expect.stringMatching(/^AKIAEMULATOR00000001\/[0-9a-f]{16}$/),
        productCode: PRODUCT,
        dimension: DIMENSION,
        hour: hour.toISOString(),
        timestamp: at(hour, 42 * MINUTE).toISOString(),
        quantity: 12,
        allocations: [
          { quantity: 5, tags: { team: 'web' } },
          { quantity: 7, tags: {} },
        ],
        clientToken: 'token-0001',
        customerIdentifier: null,
        customerAWSAccountId: null,
        licenseArn: null,
        time: clock.now().toISOString(),
      },
    ]);
    expect(emulator.totals()).toEqual({ [DIMENSION]: 12 });
  });

  it('rounds the Timestamp down to the hour: the same quantity again is the original record, another is DuplicateRequestException', async () => {
    const hour = lastHour();
    const client = pod();
    const first = await meter(client, { Timestamp: at(hour, MINUTE), UsageQuantity: 5 });
    // The SDK sends a fresh ClientToken with every command; the hour alone makes this idempotent.
    expect((await meter(client, { Timestamp: at(hour, 59 * MINUTE + 59_000), UsageQuantity: 5 })).MeteringRecordId).toBe(first.MeteringRecordId);
    const dup = await rejection(meter(client, { Timestamp: at(hour, 30 * MINUTE), UsageQuantity: 6 }));
    expect(dup.name).toBe('DuplicateRequestException');
    expect(dup.$metadata?.httpStatusCode).toBe(400);
    // The next hour is a new record; another dimension is too.
    const next = await meter(client, { Timestamp: at(hour, HOUR), UsageQuantity: 6 });
    const other = await meter(client, { Timestamp: at(hour, MINUTE), UsageQuantity: 6, UsageDimension: 'requests' });
    expect(new Set([first.MeteringRecordId, next.MeteringRecordId, other.MeteringRecordId]).size).toBe(3);
    expect(emulator.records().map((r) => [r.hour, r.dimension, r.quantity])).toEqual([
      [hour.toISOString(), DIMENSION, 5],
      [at(hour, HOUR).toISOString(), DIMENSION, 6],
      [hour.toISOString(), 'requests', 6],
    ]);
    expect(emulator.totals()).toEqual({ [DIMENSION]: 11, requests: 6 });
  });

  it('keeps one record per caller: another pod (session token) has its own hour', async () => {
    const hour = lastHour();
    const a = await meter(pod('pod-a'), { Timestamp: hour, UsageQuantity: 5 });
    const b = await meter(pod('pod-b'), { Timestamp: hour, UsageQuantity: 9 });
    expect(a.MeteringRecordId).not.toBe(b.MeteringRecordId);
    expect(emulator.totals()).toEqual({ [DIMENSION]: 14 });
  });

  it('compares allocations as sets: reordered is the same record, a different split is a duplicate', async () => {
    const hour = lastHour();
    const client = pod();
    const web = { AllocatedUsageQuantity: 3, Tags: [{ Key: 'team', Value: 'web' }, { Key: 'env', Value: 'prod' }] };
    const data = { AllocatedUsageQuantity: 7, Tags: [{ Key: 'team', Value: 'data' }] };
    const first = await meter(client, { Timestamp: hour, UsageQuantity: 10, UsageAllocations: [web, data] });
    const reordered = { ...web, Tags: [...web.Tags].reverse() };
    expect((await meter(client, { Timestamp: hour, UsageQuantity: 10, UsageAllocations: [data, reordered] })).MeteringRecordId).toBe(first.MeteringRecordId);
    const split = [{ ...web, AllocatedUsageQuantity: 4 }, { ...data, AllocatedUsageQuantity: 6 }];
    expect((await rejection(meter(client, { Timestamp: hour, UsageQuantity: 10, UsageAllocations: split }))).name).toBe('DuplicateRequestException');
    expect((await rejection(meter(client, { Timestamp: hour, UsageQuantity: 10 }))).name).toBe('DuplicateRequestException');
  });

  it('ClientToken: the same token with the same request is the original record; with another request IdempotencyConflictException (400)', async () => {
    const hour = lastHour();
    const client = pod();
    const first = await meter(client, { Timestamp: hour, UsageQuantity: 5, ClientToken: 'retry-me' });
    expect((await meter(client, { Timestamp: hour, UsageQuantity: 5, ClientToken: 'retry-me' })).MeteringRecordId).toBe(first.MeteringRecordId);
    const conflict = await rejection(meter(client, { Timestamp: at(hour, HOUR), UsageQuantity: 5, ClientToken: 'retry-me' }));
    expect(conflict.name).toBe('IdempotencyConflictException');
    expect(conflict.$metadata?.httpStatusCode).toBe(400);
    // Tokens are the account's: another pod of the same account conflicts too.
    expect((await rejection(meter(pod('pod-b'), { Timestamp: hour, UsageQuantity: 6, ClientToken: 'retry-me' }))).name).toBe('IdempotencyConflictException');
    expect(emulator.records()).toHaveLength(1);
  });

  it('DryRun runs the checks, answers {} and records nothing, even over an hour that already has a record', async () => {
    const hour = lastHour();
    const client = pod();
    const dry = await meter(client, { Timestamp: hour, UsageQuantity: 0, DryRun: true });
    expect(dry.MeteringRecordId).toBeUndefined();
    expect(emulator.records()).toEqual([]);
    await meter(client, { Timestamp: hour, UsageQuantity: 5 });
    expect((await meter(client, { Timestamp: hour, UsageQuantity: 0, DryRun: true })).MeteringRecordId).toBeUndefined();
    expect(emulator.records()).toHaveLength(1);
    expect((await rejection(meter(client, { Timestamp: at(clock.now(), -7 * HOUR), DryRun: true }))).name).toBe('TimestampOutOfBoundsException');
  });

  it('accepts Timestamps from 6 hours back to 5 minutes ahead of its clock, and nothing outside', async () => {
    const client = pod();
    const now = clock.now();
    expect((await meter(client, { Timestamp: at(now, -6 * HOUR) })).MeteringRecordId).toMatch(UUID);
    expect((await meter(client, { Timestamp: at(now, 5 * MINUTE), UsageDimension: 'requests' })).MeteringRecordId).toMatch(UUID);
    for (const t of [at(now, -6 * HOUR - 1000), at(now, 5 * MINUTE + 1000), new Date(0)]) {
      const err = await rejection(meter(client, { Timestamp: t, UsageDimension: 'other' }));
      expect(err.name).toBe('TimestampOutOfBoundsException');
      expect(err.message).toMatch(/^The timestamp value passed in the UsageRecord is out of allowed range\. /);
    }
  });

  it.each([
    [[{ AllocatedUsageQuantity: 4 }, { AllocatedUsageQuantity: 5, Tags: [{ Key: 'a', Value: 'b' }] }], 'InvalidUsageAllocationsException', /add up to 9, the usage quantity is 10/],
    [[{ AllocatedUsageQuantity: 5 }, { AllocatedUsageQuantity: 5 }], 'InvalidUsageAllocationsException', /Allocations 1 and 2 have the same set of tags/],
    [
      [{ AllocatedUsageQuantity: 5, Tags: [{ Key: 'a', Value: '1' }, { Key: 'b', Value: '2' }] }, { AllocatedUsageQuantity: 5, Tags: [{ Key: 'b', Value: '2' }, { Key: 'a', Value: '1' }] }],
      'InvalidUsageAllocationsException',
      /same set of tags/,
    ],
    [[{ AllocatedUsageQuantity: 10, Tags: [{ Key: 'team', Value: 'a' }, { Key: 'team', Value: 'b' }] }], 'InvalidTagException', /tag key "team" more than once/],
  ])('allocations %j -> %s', async (UsageAllocations, name, message) => {
    const err = await rejection(meter(pod(), { UsageQuantity: 10, UsageAllocations }));
    expect(err.name).toBe(name);
    expect(err.message).toMatch(message);
  });

  it('answers ValidationException for what the model constrains, naming the nested member as AWS does', async () => {
    const client = pod();
    const sixTags = Array.from({ length: 6 }, (_, i) => ({ Key: `k${i}`, Value: 'v' }));
    const cases: [Parameters<typeof meter>[1], RegExp][] = [
      [{ UsageQuantity: -1 }, /at 'usageQuantity' failed to satisfy constraint: Member must have value greater than or equal to 0/],
      [{ UsageDimension: '' }, /^2 validation errors detected: Value '' at 'usageDimension' .*length greater than or equal to 1; .*regular expression pattern/],
      [{ UsageDimension: 'd'.repeat(256) }, /at 'usageDimension' failed to satisfy constraint: Member must have length less than or equal to 255/],
      [{ ClientToken: 't'.repeat(65) }, /at 'clientToken' failed to satisfy constraint: Member must have length less than or equal to 64/],
      [{ UsageAllocations: [] }, /at 'usageAllocations' failed to satisfy constraint: Member must have length greater than or equal to 1/],
      [{ UsageQuantity: 6, UsageAllocations: [{ AllocatedUsageQuantity: 6, Tags: sixTags }] }, /at 'usageAllocations\.1\.member\.tags' failed to satisfy constraint: Member must have length less than or equal to 5/],
      [
        { UsageAllocations: [{ AllocatedUsageQuantity: 1, Tags: [{ Key: 'bad~key', Value: 'ok' }] }] },
        /Value 'bad~key' at 'usageAllocations\.1\.member\.tags\.1\.member\.key' failed to satisfy constraint: Member must satisfy regular expression pattern: \^\[a-zA-Z0-9\+ -=\._:\\\/@\]\+\$/,
      ],
      [{ UsageAllocations: [{ AllocatedUsageQuantity: 1, Tags: [{ Key: 'k', Value: '' }] }] }, /at 'usageAllocations\.1\.member\.tags\.1\.member\.value'/],
      [{ Timestamp: undefined }, /Value null at 'timestamp' failed to satisfy constraint: Member must not be null/],
    ];
    for (const [input, message] of cases) {
      const err = await rejection(meter(client, input));
      expect(err.name, JSON.stringify(input)).toBe('ValidationException');
      expect(err.message).toMatch(message);
    }
    expect(emulator.records()).toEqual([]);
  });

  it('answers SerializationException for wire types the shape cannot read', async () => {
    const send = async (body: Record<string, unknown>) =>
      (await signedRequest(emulator, { target: 'AWSMPMeteringService.MeterUsage', body: JSON.stringify({ ProductCode: PRODUCT, UsageDimension: 'd', ...body }) })).json();
    expect(await send({ Timestamp: '2024-01-01T00:00:00Z' })).toEqual({ __type: 'SerializationException', message: 'STRING_VALUE can not be converted to a Timestamp' });
    expect(await send({ Timestamp: 1, DryRun: 'yes' })).toEqual({ __type: 'SerializationException', message: 'STRING_VALUE can not be converted to a Boolean' });
    expect(await send({ Timestamp: 1, UsageAllocations: { AllocatedUsageQuantity: 1 } })).toEqual({ __type: 'SerializationException', message: 'Start of structure or map found where not expected.' });
    expect(await send({ Timestamp: 1, UsageAllocations: [{ AllocatedUsageQuantity: 1.5 }] })).toEqual({
      __type: 'SerializationException',
      message: 'NUMBER_VALUE 1.5 of AllocatedUsageQuantity can not be converted to an Integer',
    });
  });

  it('a caller\'s FIRST call of either kind is denied in not-entitled mode, and only that one', async () => {
    emulator.setScenario({ mode: 'not-entitled' });
    const a = pod('pod-a');
    expect((await rejection(meter(a, { DryRun: true }))).name).toBe('CustomerNotEntitledException');
    expect((await meter(a, { DryRun: true })).MeteringRecordId).toBeUndefined();
    expect((await register(a)).Signature).toBeTruthy();
    const b = pod('pod-b');
    expect((await rejection(register(b))).name).toBe('CustomerNotEntitledException');
    expect((await meter(b)).MeteringRecordId).toMatch(UUID);
    // A call that fails its own checks is not the first call.
    const c = pod('pod-c');
    expect((await rejection(meter(c, { Timestamp: new Date(0) }))).name).toBe('TimestampOutOfBoundsException');
    expect((await rejection(meter(c))).name).toBe('CustomerNotEntitledException');
    expect(emulator.state().knownCallers).toBe(3);
  });

  it.each([
    ['invalid-region', 'InvalidEndpointRegionException'],
    ['disabled-api', 'DisabledApiException'],
    ['invalid-product-code', 'InvalidProductCodeException'],
  ] as const)('mode %s answers %s on every MeterUsage call', async (mode, name) => {
    emulator.setScenario({ mode });
    for (let i = 0; i < 2; i++) expect((await rejection(meter(pod()))).name).toBe(name);
    expect(emulator.state().knownCallers).toBe(0);
  });

  it.each(['platform-not-supported', 'invalid-public-key-version'] as const)('mode %s is RegisterUsage\'s only: MeterUsage succeeds', async (mode) => {
    emulator.setScenario({ mode });
    expect((await meter(pod())).MeteringRecordId).toMatch(UUID);
  });

  it('faultOperations: throttle and 500s for MeterUsage only, while RegisterUsage keeps succeeding', async () => {
    emulator.setScenario({ throttle: 2, internalError: 1, faultOperations: ['MeterUsage'] });
    const client = pod();
    expect((await register(client)).Signature).toBeTruthy();
    expect((await rejection(meter(client))).name).toBe('ThrottlingException');
    expect((await register(client)).Signature).toBeTruthy();
    expect((await rejection(meter(client))).name).toBe('ThrottlingException');
    const fault = await rejection(meter(client));
    expect(fault.name).toBe('InternalServiceErrorException');
    expect(fault.$metadata?.httpStatusCode).toBe(500);
    expect((await meter(client)).MeteringRecordId).toMatch(UUID);
    expect(emulator.state().counts).toEqual({
      RegisterUsage: { success: 2 },
      MeterUsage: { ThrottlingException: 2, InternalServiceErrorException: 1, success: 1 },
    });
  });

  it('faultOperations limits the mode too: disabled-api for RegisterUsage leaves MeterUsage alone', async () => {
    emulator.setScenario({ mode: 'disabled-api', faultOperations: ['RegisterUsage'] });
    expect((await rejection(register(pod()))).name).toBe('DisabledApiException');
    expect((await meter(pod())).MeteringRecordId).toMatch(UUID);
  });

  it('faultOperations rejects names that are not operations', () => {
    expect(() => emulator.setScenario({ faultOperations: ['MeterUsage', 'Steal' as never] })).toThrow(
      /faultOperations must be null \(all operations\) or a list of: RegisterUsage, MeterUsage, BatchMeterUsage, ResolveCustomer/,
    );
  });

  it('GET /_emulator/records lists the records with totals; POST /_emulator/reset clears them', async () => {
    const hour = lastHour();
    await meter(pod(), { Timestamp: hour, UsageQuantity: 3 });
    await meter(pod(), { Timestamp: hour, UsageQuantity: 4, UsageDimension: 'requests' });
    const res = await rawRequest(emulator.url, { method: 'GET', path: '/_emulator/records' });
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ records: emulator.records(), totals: { [DIMENSION]: 3, requests: 4 } });
    await rawRequest(emulator.url, { method: 'POST', path: '/_emulator/reset', headers: JSON_TYPE });
    expect((await rawRequest(emulator.url, { method: 'GET', path: '/_emulator/records' })).json()).toEqual({ records: [], totals: {} });
    // After a reset the hour is free again.
    await meter(pod(), { Timestamp: hour, UsageQuantity: 8 });
    expect(emulator.totals()).toEqual({ [DIMENSION]: 8 });
  });
});

describe('configured products and dimensions, and the look-back option', () => {
  let emulator: TestEmulator;
  beforeAll(async () => {
    emulator = await startTestEmulator({ productCodes: [PRODUCT], dimensions: [DIMENSION, 'requests'], meterUsageLookBackHours: 1 });
  });
  afterAll(() => emulator.close());

  it('answers InvalidUsageDimensionException for a dimension the product does not have', async () => {
    const err = await rejection(meter(meteringClient(emulator), { UsageDimension: 'cpu_hours' }));
    expect(err.name).toBe('InvalidUsageDimensionException');
    expect(err.message).toContain('"cpu_hours" is not one of: gb_scanned, requests.');
    expect((await meter(meteringClient(emulator), { UsageDimension: 'requests' })).MeteringRecordId).toMatch(UUID);
  });

  it('answers InvalidProductCodeException for a product that does not exist', async () => {
    expect((await rejection(meter(meteringClient(emulator), { ProductCode: 'prod-other' }))).name).toBe('InvalidProductCodeException');
  });

  it('uses meterUsageLookBackHours for the window', async () => {
    const now = emulator.clock.now().getTime();
    expect((await meter(meteringClient(emulator), { Timestamp: new Date(now - HOUR) })).MeteringRecordId).toMatch(UUID);
    const err = await rejection(meter(meteringClient(emulator), { Timestamp: new Date(now - HOUR - 1000), UsageDimension: 'requests' }));
    expect(err.name).toBe('TimestampOutOfBoundsException');
    expect(err.message).toContain('(1 h back)');
  });

  it('rejects bad options, each named', async () => {
    await expect(startTestEmulator({ dimensions: [''], meterUsageLookBackHours: 0, batchMeterUsageLookBackHours: Number.NaN })).rejects.toThrow(
      /dimensions: "" must be 1-255 characters; meterUsageLookBackHours must be a number of hours > 0; batchMeterUsageLookBackHours must be a number of hours > 0/,
    );
  });
});

describe('the region is named per operation', () => {
  let emulator: TestEmulator;
  beforeAll(async () => {
    emulator = await startTestEmulator({ region: 'eu-central-1' });
  });
  afterAll(() => emulator.close());

  it('MeterUsage signed for another region: InvalidEndpointRegionException', async () => {
    const err = await rejection(meter(meteringClient(emulator, { region: 'us-east-1' })));
    expect(err.name).toBe('InvalidEndpointRegionException');
    expect(err.message).toContain("signed for region 'us-east-1' but this endpoint serves 'eu-central-1'");
    expect((await meter(meteringClient(emulator, { region: 'eu-central-1' }))).MeteringRecordId).toMatch(UUID);
  });

  it('BatchMeterUsage and ResolveCustomer, which model no region error: 403 InvalidSignatureException', async () => {
    for (const target of ['BatchMeterUsage', 'ResolveCustomer']) {
      const res = await signedRequest(emulator, { target: `AWSMPMeteringService.${target}`, body: '{}', region: 'us-east-1' });
      expect(res.status).toBe(403);
      expect(res.json()).toEqual({ __type: 'InvalidSignatureException', message: "Credential should be scoped to a valid region, not 'us-east-1'. " });
    }
  });
});

describe('per-operation rate limits', () => {
  const clock = manualClock(QUIET);
  const second = { accessKeyId: 'AKIAEMULATOR00000002', secretAccessKey: 'second/secret', accountId: '444455556666' };
  let emulator: TestEmulator;
  beforeAll(async () => {
    emulator = await startTestEmulator({ clock, credentials: [...DEFAULT_EMULATOR_CREDENTIALS, second] });
  });
  afterAll(() => emulator.close());

  it('MeterUsage has its own bucket of 10/s per account, apart from RegisterUsage\'s 5/s', async () => {
    const client = meteringClient(emulator);
    const settle = async (calls: Promise<unknown>[]) => {
      const results = await Promise.allSettled(calls);
      const throttled = results.filter((r) => r.status === 'rejected' && (r.reason as Error).name === 'ThrottlingException').length;
      return { ok: results.filter((r) => r.status === 'fulfilled').length, throttled };
    };
    expect(await settle(Array.from({ length: 14 }, () => meter(client, { DryRun: true })))).toEqual({ ok: 10, throttled: 4 });
    expect(await settle(Array.from({ length: 7 }, () => register(client)))).toEqual({ ok: 5, throttled: 2 });
    const other = meteringClient(emulator, { accessKeyId: second.accessKeyId, secretAccessKey: second.secretAccessKey });
    expect((await meter(other, { DryRun: true })).MeteringRecordId).toBeUndefined();
    // 300 ms at 10/s gives MeterUsage 3 tokens back.
    clock.advance(300);
    expect(await settle(Array.from({ length: 5 }, () => meter(client, { DryRun: true })))).toEqual({ ok: 3, throttled: 2 });
  });

  it('meterUsageRateLimit can be changed or switched off without touching RegisterUsage\'s', async () => {
    emulator.reset();
    emulator.setScenario({ meterUsageRateLimit: { perSecond: 1, burst: 2 } });
    const client = meteringClient(emulator);
    const results = await Promise.allSettled(Array.from({ length: 3 }, () => meter(client, { DryRun: true })));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(2);
    emulator.setScenario({ meterUsageRateLimit: null });
    const all = await Promise.allSettled(Array.from({ length: 20 }, () => meter(client, { DryRun: true })));
    expect(all.every((r) => r.status === 'fulfilled')).toBe(true);
    expect(emulator.scenario().rateLimit).toEqual({ perSecond: 5, burst: 5 });
  });
});
