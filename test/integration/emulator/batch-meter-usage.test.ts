import type { MarketplaceMeteringClient, UsageRecord } from '@aws-sdk/client-marketplace-metering';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SubscribedCustomer } from '../../../src/emulator/index.js';
import { batch, DIMENSION, EDGE_INSTANTS, manualClock, meteringClient, PRODUCT, QUIET, rejection, startTestEmulator } from '../../helpers/emulator-requests.js';
import type { TestEmulator } from '../../helpers/emulator-requests.js';

const HOUR = 3_600_000;
const ACCOUNT = '111111111111';
const LEGACY_ID = 'cust-legacy-0001';
const LICENSED = '222222222222';
const LICENSE = 'arn:aws:license-manager::294406891311:license:l-0123456789abcdef0123456789abcdef';
const CUSTOMERS: SubscribedCustomer[] = [
  { customerAWSAccountId: ACCOUNT, productCode: PRODUCT },
  { customerIdentifier: LEGACY_ID, customerAWSAccountId: '333333333333', productCode: PRODUCT },
  { customerAWSAccountId: LICENSED, productCode: PRODUCT, licenseArn: LICENSE },
];
const UUID = /^[0-9a-f-]{36}$/;

// Every sound record here is less than 6 hours old, which no calendar rule can refuse (a closed billing
// month is refused only from 06:00 on the 1st). The rules themselves are tested at pinned instants in
// calendar.test.ts; running this suite at the edges too shows nothing else depends on the date.
describe.each([QUIET, ...EDGE_INSTANTS])('BatchMeterUsage through the AWS SDK v3, the emulator\'s clock at %s', (instant) => {
  const clock = manualClock(instant);
  let emulator: TestEmulator;
  let client: MarketplaceMeteringClient;
  beforeAll(async () => {
    emulator = await startTestEmulator({ clock, customers: CUSTOMERS, dimensions: [DIMENSION, 'requests'], scenario: { batchMeterUsageRateLimit: null } });
    client = meteringClient(emulator);
  });
  afterAll(() => emulator.close());
  beforeEach(() => {
    emulator.reset();
    emulator.setScenario({ mode: 'entitled', faultOperations: null, batchMeterUsageRateLimit: null });
  });
  const ago = (ms: number) => new Date(clock.now().getTime() - ms);

  it('answers a status per record: Success with a record id for subscribed customers, CustomerNotSubscribed for the rest', async () => {
    const t = ago(HOUR);
    const out = await batch(client, [
      { CustomerAWSAccountId: ACCOUNT, Timestamp: t, Quantity: 5 },
      { CustomerIdentifier: LEGACY_ID, Timestamp: t, Quantity: 6, UsageAllocations: [{ AllocatedUsageQuantity: 6, Tags: [{ Key: 'team', Value: 'a' }] }] },
      { CustomerAWSAccountId: '999999999999', Timestamp: t },
      { CustomerAWSAccountId: '1234', Timestamp: t },
      { CustomerIdentifier: 'cust-unknown', Timestamp: t },
    ]);
    expect(out.UnprocessedRecords).toEqual([]);
    expect(out.Results?.map((r) => [r.Status, r.MeteringRecordId === undefined ? null : 'id'])).toEqual([
      ['Success', 'id'],
      ['Success', 'id'],
      ['CustomerNotSubscribed', null],
      ['CustomerNotSubscribed', null],
      ['CustomerNotSubscribed', null],
    ]);
    // The record comes back as sent, Timestamp included (the SDK makes it a Date again).
    expect(out.Results?.[1]?.UsageRecord).toEqual({
      CustomerIdentifier: LEGACY_ID,
      Timestamp: t,
      Dimension: DIMENSION,
      Quantity: 6,
      UsageAllocations: [{ AllocatedUsageQuantity: 6, Tags: [{ Key: 'team', Value: 'a' }] }],
    });
    expect(emulator.records()).toEqual([
      expect.objectContaining({ operation: 'BatchMeterUsage', meteringRecordId: out.Results?.[0]?.MeteringRecordId, customerAWSAccountId: ACCOUNT, customerIdentifier: null, quantity: 5, productCode: PRODUCT, licenseArn: null, clientToken: null }),
      expect.objectContaining({ customerIdentifier: LEGACY_ID, customerAWSAccountId: '333333333333', quantity: 6, allocations: [{ quantity: 6, tags: { team: 'a' } }] }),
    ]);
    expect(emulator.totals()).toEqual({ [DIMENSION]: 11 });
  });

  it('de-duplicates per customer, dimension and hour: same quantity is Success with the original id, another is DuplicateRecord', async () => {
    const hourStart = new Date(Math.floor(ago(2 * HOUR).getTime() / HOUR) * HOUR);
    const first = await batch(client, [{ CustomerAWSAccountId: ACCOUNT, Timestamp: hourStart, Quantity: 5 }]);
    const id = first.Results?.[0]?.MeteringRecordId;
    expect(id).toMatch(UUID);
    const again = await batch(client, [
      { CustomerAWSAccountId: ACCOUNT, Timestamp: new Date(hourStart.getTime() + 59 * 60_000), Quantity: 5 },
      { CustomerAWSAccountId: ACCOUNT, Timestamp: new Date(hourStart.getTime() + 30 * 60_000), Quantity: 6 },
      // The legacy id and the account id of one customer are the same customer.
      { CustomerIdentifier: LEGACY_ID, Timestamp: hourStart, Quantity: 1 },
      { CustomerAWSAccountId: '333333333333', Timestamp: hourStart, Quantity: 2 },
    ]);
    expect(again.Results?.map((r) => [r.Status, r.MeteringRecordId])).toEqual([
      ['Success', id],
      ['DuplicateRecord', undefined],
      ['Success', expect.stringMatching(UUID)],
      ['DuplicateRecord', undefined],
    ]);
    expect(emulator.records().map((r) => r.quantity)).toEqual([5, 1]);
  });

  it('takes the product from a LicenseArn, and keeps a license record apart from a product code record', async () => {
    const t = ago(HOUR);
    const viaLicense = await batch(client, [{ CustomerAWSAccountId: LICENSED, LicenseArn: LICENSE, Timestamp: t, Quantity: 3 }], null);
    expect(viaLicense.Results?.[0]?.Status).toBe('Success');
    const viaProduct = await batch(client, [{ CustomerAWSAccountId: LICENSED, Timestamp: t, Quantity: 4 }]);
    expect(viaProduct.Results?.[0]?.Status).toBe('Success');
    expect(emulator.records().map((r) => [r.productCode, r.licenseArn, r.quantity])).toEqual([
      [PRODUCT, LICENSE, 3],
      [PRODUCT, null, 4],
    ]);
  });

  const wholeCall: [Partial<UsageRecord>[], string | null, string, RegExp][] = [
    [[{}], PRODUCT, 'InvalidCustomerIdentifierException', /needs a CustomerIdentifier or a CustomerAWSAccountId/],
    [[{ CustomerIdentifier: LEGACY_ID, CustomerAWSAccountId: ACCOUNT }], PRODUCT, 'InvalidCustomerIdentifierException', /mutually exclusive/],
    [[{ CustomerAWSAccountId: ACCOUNT }], null, 'InvalidProductCodeException', /ProductCode is required for records without a LicenseArn/],
    [[{ CustomerAWSAccountId: LICENSED, LicenseArn: `${LICENSE}ff` }], null, 'InvalidLicenseException', /No license/],
    [[{ CustomerAWSAccountId: ACCOUNT, LicenseArn: LICENSE }], null, 'InvalidLicenseException', /is not the record's customer's/],
    [[{ CustomerAWSAccountId: LICENSED, LicenseArn: LICENSE }], 'prod-another', 'InvalidLicenseException', /is for prod-emulatortest0001, not prod-another/],
    [[{ CustomerAWSAccountId: ACCOUNT, Dimension: 'cpu' }], PRODUCT, 'InvalidUsageDimensionException', /usageRecords\.2: "cpu" is not one of/],
    [[{ CustomerAWSAccountId: ACCOUNT, Quantity: 2, UsageAllocations: [{ AllocatedUsageQuantity: 1 }] }], PRODUCT, 'InvalidUsageAllocationsException', /add up to 1/],
    [[{ CustomerAWSAccountId: ACCOUNT, UsageAllocations: [{ AllocatedUsageQuantity: 1, Tags: [{ Key: 'k', Value: '1' }, { Key: 'k', Value: '2' }] }] }], PRODUCT, 'InvalidTagException', /tag key "k"/],
  ];
  it.each(wholeCall)('rejects the whole call: %j (ProductCode %s) -> %s', async (records, productCode, name, message) => {
    // A sound record first: the whole call fails for the second.
    const ok = productCode === null ? { CustomerAWSAccountId: LICENSED, LicenseArn: LICENSE, Timestamp: ago(0) } : { CustomerAWSAccountId: ACCOUNT, Timestamp: ago(0) };
    const err = await rejection(batch(client, [ok, ...records.map((r) => ({ Timestamp: ago(0), ...r }))], productCode));
    expect(err.name).toBe(name);
    expect(err.message).toMatch(message);
    expect(emulator.records()).toEqual([]);
  });

  it('one Timestamp out of bounds (more than 24 hours back, more than 5 minutes ahead) rejects the whole call', async () => {
    // Sound at any instant: 24 hours back can be in a closed billing month (calendar.test.ts), now cannot.
    const ok = { CustomerAWSAccountId: ACCOUNT, Timestamp: ago(0) };
    for (const t of [ago(24 * HOUR + 1000), ago(-5 * 60_000 - 1000)]) {
      const err = await rejection(batch(client, [ok, { CustomerAWSAccountId: ACCOUNT, Timestamp: t, Dimension: 'requests' }]));
      expect(err.name).toBe('TimestampOutOfBoundsException');
      expect(err.message).toMatch(/usageRecords\.2: /);
    }
    expect(emulator.records()).toEqual([]);
    expect((await batch(client, [ok])).Results?.[0]?.Status).toBe('Success');
  });

  it('more than 25 records is a ValidationException', async () => {
    const records = Array.from({ length: 26 }, () => ({ CustomerAWSAccountId: ACCOUNT }));
    const err = await rejection(batch(client, records));
    expect(err.name).toBe('ValidationException');
    expect(err.message).toMatch(/^1 validation error detected: Value '.*' at 'usageRecords' failed to satisfy constraint: Member must have length less than or equal to 25$/);
  });

  it('validates each record as the model states, naming it', async () => {
    const err = await rejection(batch(client, [{ CustomerAWSAccountId: 'acct-1', Quantity: -1, LicenseArn: 'not-an-arn' }]));
    expect(err.name).toBe('ValidationException');
    expect(err.message).toMatch(/^3 validation errors detected: Value '-1' at 'usageRecords\.1\.member\.quantity' .*; Value 'acct-1' at 'usageRecords\.1\.member\.customerAWSAccountId' .*; Value 'not-an-arn' at 'usageRecords\.1\.member\.licenseArn'/);
  });

  it('unprocessed N: the next N records, across calls, come back in UnprocessedRecords; a retry then succeeds', async () => {
    emulator.setScenario({ unprocessed: 3 });
    const t = ago(HOUR);
    const records = [
      { CustomerAWSAccountId: ACCOUNT, Timestamp: t, Quantity: 1 },
      { CustomerIdentifier: LEGACY_ID, Timestamp: t, Quantity: 2 },
    ];
    const first = await batch(client, records);
    expect(first.Results).toEqual([]);
    expect(first.UnprocessedRecords).toEqual(records.map((r) => ({ ...r, Dimension: DIMENSION })));
    const second = await batch(client, [...records, { CustomerAWSAccountId: LICENSED, Timestamp: t, Quantity: 3 }]);
    expect(second.UnprocessedRecords?.map((r) => r.Quantity)).toEqual([1]);
    expect(second.Results?.map((r) => r.Status)).toEqual(['Success', 'Success']);
    expect(emulator.scenario().unprocessed).toBe(0);
    const retry = await batch(client, second.UnprocessedRecords ?? []);
    expect(retry.Results?.map((r) => r.Status)).toEqual(['Success']);
    expect(emulator.totals()).toEqual({ [DIMENSION]: 6 });
  });

  it('has the fault scenarios: throttle, internalError, disabled-api, invalid-product-code', async () => {
    emulator.setScenario({ throttle: 1, internalError: 1 });
    const records = [{ CustomerAWSAccountId: ACCOUNT }];
    expect((await rejection(batch(client, records))).name).toBe('ThrottlingException');
    expect((await rejection(batch(client, records))).name).toBe('InternalServiceErrorException');
    emulator.setScenario({ mode: 'disabled-api' });
    expect((await rejection(batch(client, records))).name).toBe('DisabledApiException');
    emulator.setScenario({ mode: 'invalid-product-code' });
    expect((await rejection(batch(client, records))).name).toBe('InvalidProductCodeException');
    emulator.setScenario({ mode: 'not-entitled' });
    expect((await batch(client, records)).Results?.[0]?.Status).toBe('Success');
  });

  it('has its own per-account rate limit', async () => {
    emulator.setScenario({ batchMeterUsageRateLimit: { perSecond: 1, burst: 2 } });
    const results = await Promise.allSettled([1, 2, 3].map(() => batch(client, [{ CustomerAWSAccountId: ACCOUNT }])));
    expect(results.map((r) => (r.status === 'fulfilled' ? 'ok' : (r.reason as Error).name)).sort()).toEqual(['ThrottlingException', 'ok', 'ok']);
  });

  it('faultOperations: unprocessed and throttling only where listed', async () => {
    emulator.setScenario({ unprocessed: 1, throttle: 1, faultOperations: ['MeterUsage'] });
    const out = await batch(client, [{ CustomerAWSAccountId: ACCOUNT }]);
    expect(out.Results?.[0]?.Status).toBe('Success');
    expect(emulator.scenario()).toMatchObject({ unprocessed: 1, throttle: 1 });
  });
});

describe('BatchMeterUsage options', () => {
  it('uses batchMeterUsageLookBackHours', async () => {
    const emulator = await startTestEmulator({ customers: CUSTOMERS, batchMeterUsageLookBackHours: 1 });
    try {
      const client = meteringClient(emulator);
      const now = emulator.clock.now().getTime();
      expect((await batch(client, [{ CustomerAWSAccountId: ACCOUNT, Timestamp: new Date(now - HOUR) }])).Results?.[0]?.Status).toBe('Success');
      const err = await rejection(batch(client, [{ CustomerAWSAccountId: ACCOUNT, Timestamp: new Date(now - HOUR - 1000), Dimension: 'other' }]));
      expect(err.name).toBe('TimestampOutOfBoundsException');
      expect(err.message).toContain('(1 h back)');
    } finally {
      await emulator.close();
    }
  });

  it('rejects malformed customers, naming each', async () => {
    await expect(
      startTestEmulator({
        productCodes: [PRODUCT],
        customers: [{ productCode: PRODUCT }, { customerAWSAccountId: '12', productCode: 'prod-unknown', licenseArn: 'arn:nope' }],
      }),
    ).rejects.toThrow(
      /customers\[0\]\.needs customerAWSAccountId or customerIdentifier \(or both\); customers\[1\]\.customerAWSAccountId must be a 12-digit AWS account id; customers\[1\]\.licenseArn must be a license ARN .*; customers\[1\]\.productCode prod-unknown is not one of the emulator's products: prod-emulatortest0001/,
    );
  });
});
