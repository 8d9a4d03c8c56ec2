/**
 * The rules that depend on the calendar, each at pinned instants and with the expected answer written
 * out: BatchMeterUsage's 24-hour look-back and the close of the previous billing month at 06:00 UTC on
 * the 1st; MeterUsage's 6-hour look-back (no billing-month rule); the hour a Timestamp is rounded down
 * to; the SigV4 credential scope's date at midnight. Instants: a quiet day, the first instants of a
 * month, the seconds around 06:00 on the 1st, the turn of a year, 29 February and 1 March of a leap
 * year, the last second of an hour, and 2026-12-01, the day the suite failed on a newcomer's machine.
 */
import type { MarketplaceMeteringClient } from '@aws-sdk/client-marketplace-metering';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { batch, manualClock, meter, meteringClient, PRODUCT, QUIET, rejection, signedRequest, startTestEmulator } from '../../helpers/emulator-requests.js';
import type { TestEmulator } from '../../helpers/emulator-requests.js';

const ACCOUNT = '111111111111';
const iso = (t: string, seconds = 0): string => new Date(Date.parse(t) + seconds * 1000).toISOString();
const at = (t: string, seconds = 0): Date => new Date(iso(t, seconds));

describe('calendar rules at pinned instants', () => {
  const clock = manualClock(QUIET);
  let emulator: TestEmulator;
  let client: MarketplaceMeteringClient;
  beforeAll(async () => {
    emulator = await startTestEmulator({
      clock,
      customers: [{ customerAWSAccountId: ACCOUNT, productCode: PRODUCT }],
      scenario: { rateLimit: null, meterUsageRateLimit: null, batchMeterUsageRateLimit: null },
    });
    client = meteringClient(emulator);
  });
  afterAll(() => emulator.close());
  beforeEach(() => emulator.reset());

  const refusal = async (p: Promise<unknown>): Promise<string> => {
    const err = await rejection(p);
    expect(err.name).toBe('TimestampOutOfBoundsException');
    return err.message.replace('The timestamp value passed in the UsageRecord is out of allowed range. ', '');
  };

  // [emulator's now, the oldest Timestamp BatchMeterUsage takes, why one second older is refused]
  const batchWindow: [string, string, string][] = [
    ['2027-06-15T12:15:00.000Z', '2027-06-14T12:15:00.000Z', 'is older than 2027-06-14T12:15:00.000Z (24 h back).'],
    // The first instant of a month: the previous month is still open.
    ['2027-07-01T00:00:00.000Z', '2027-06-30T00:00:00.000Z', 'is older than 2027-06-30T00:00:00.000Z (24 h back).'],
    ['2027-07-01T05:59:59.000Z', '2027-06-30T05:59:59.000Z', 'is older than 2027-06-30T05:59:59.000Z (24 h back).'],
    // 06:00 on the 1st: June is closed, although 24 hours back reaches into it.
    ['2027-07-01T06:00:00.000Z', '2027-07-01T00:00:00.000Z', 'is in a billing month that closed at 2027-07-01T06:00:00.000Z.'],
    ['2027-07-01T23:59:59.000Z', '2027-07-01T00:00:00.000Z', 'is in a billing month that closed at 2027-07-01T06:00:00.000Z.'],
    ['2027-07-02T00:00:00.000Z', '2027-07-01T00:00:00.000Z', 'is older than 2027-07-01T00:00:00.000Z (24 h back).'],
    // The turn of a year.
    ['2028-01-01T05:59:59.000Z', '2027-12-31T05:59:59.000Z', 'is older than 2027-12-31T05:59:59.000Z (24 h back).'],
    ['2028-01-01T06:00:00.000Z', '2028-01-01T00:00:00.000Z', 'is in a billing month that closed at 2028-01-01T06:00:00.000Z.'],
    // A leap year's February: 29 days, open until 06:00 on 1 March.
    ['2028-02-29T23:59:59.000Z', '2028-02-28T23:59:59.000Z', 'is older than 2028-02-28T23:59:59.000Z (24 h back).'],
    ['2028-03-01T05:00:00.000Z', '2028-02-29T05:00:00.000Z', 'is older than 2028-02-29T05:00:00.000Z (24 h back).'],
    ['2028-03-01T06:00:01.000Z', '2028-03-01T00:00:00.000Z', 'is in a billing month that closed at 2028-03-01T06:00:00.000Z.'],
    // The day the suite failed for a newcomer: 21:40 on 1 December, November closed at 06:00.
    ['2026-12-01T21:40:00.000Z', '2026-12-01T00:00:00.000Z', 'is in a billing month that closed at 2026-12-01T06:00:00.000Z.'],
  ];
  it.each(batchWindow)('BatchMeterUsage at %s takes %s, not a second older, and up to 5 minutes ahead', async (now, oldest, why) => {
    clock.set(now);
    const record = (t: Date, Dimension: string) => batch(client, [{ CustomerAWSAccountId: ACCOUNT, Timestamp: t, Dimension }]);
    expect((await record(at(oldest), 'oldest')).Results?.map((r) => r.Status)).toEqual(['Success']);
    expect(await refusal(record(at(oldest, -1), 'older'))).toBe(`usageRecords.1: ${iso(oldest, -1)} ${why}`);
    expect((await record(at(now, 300), 'ahead')).Results?.map((r) => r.Status)).toEqual(['Success']);
    expect(await refusal(record(at(now, 301), 'further'))).toBe(`usageRecords.1: ${iso(now, 301)} is more than 5 minutes ahead of ${now}.`);
    expect(emulator.records().map((r) => r.timestamp)).toEqual([oldest, iso(now, 300)]);
  });

  // MeterUsage has no billing-month rule: 6 hours back, across a month or a year.
  it.each([
    ['2027-06-15T12:15:00.000Z', '2027-06-15T06:15:00.000Z'],
    ['2027-07-01T06:00:00.000Z', '2027-07-01T00:00:00.000Z'],
    ['2027-07-01T03:00:00.000Z', '2027-06-30T21:00:00.000Z'],
    ['2028-01-01T03:00:00.000Z', '2027-12-31T21:00:00.000Z'],
    ['2028-03-01T02:00:00.000Z', '2028-02-29T20:00:00.000Z'],
    ['2026-12-01T21:40:00.000Z', '2026-12-01T15:40:00.000Z'],
  ])('MeterUsage at %s takes %s, not a second older, and up to 5 minutes ahead', async (now, oldest) => {
    clock.set(now);
    expect((await meter(client, { Timestamp: at(oldest), UsageDimension: 'oldest' })).MeteringRecordId).toBeDefined();
    expect(await refusal(meter(client, { Timestamp: at(oldest, -1), UsageDimension: 'older' }))).toBe(`${iso(oldest, -1)} is older than ${oldest} (6 h back).`);
    expect((await meter(client, { Timestamp: at(now, 300), UsageDimension: 'ahead' })).MeteringRecordId).toBeDefined();
    expect(await refusal(meter(client, { Timestamp: at(now, 301), UsageDimension: 'further' }))).toBe(`${iso(now, 301)} is more than 5 minutes ahead of ${now}.`);
  });

  // [the last second of an hour, the hour it is in]; the next second starts another hour.
  const hourEnds: [string, string][] = [
    ['2027-06-15T12:59:59.000Z', '2027-06-15T12:00:00.000Z'],
    ['2027-12-31T23:59:59.000Z', '2027-12-31T23:00:00.000Z'],
    ['2028-02-28T23:59:59.000Z', '2028-02-28T23:00:00.000Z'],
    ['2028-02-29T23:59:59.000Z', '2028-02-29T23:00:00.000Z'],
  ];

  it.each(hourEnds)('MeterUsage: %s is in the hour %s, one second later is the next hour', async (last, hour) => {
    clock.set(iso(last, 30));
    const first = await meter(client, { Timestamp: at(last), UsageQuantity: 5 });
    const next = await meter(client, { Timestamp: at(last, 1), UsageQuantity: 6 });
    expect(next.MeteringRecordId).not.toBe(first.MeteringRecordId);
    // The same quantity anywhere in the hour is the same record; another quantity is a duplicate.
    expect((await meter(client, { Timestamp: at(hour), UsageQuantity: 5 })).MeteringRecordId).toBe(first.MeteringRecordId);
    expect((await rejection(meter(client, { Timestamp: at(hour, 1800), UsageQuantity: 7 }))).name).toBe('DuplicateRequestException');
    expect(emulator.records().map((r) => [r.hour, r.quantity])).toEqual([
      [hour, 5],
      [iso(hour, 3600), 6],
    ]);
  });

  it.each(hourEnds)('BatchMeterUsage: %s is in the hour %s, one second later is the next hour', async (last, hour) => {
    clock.set(iso(last, 30));
    const out = await batch(client, [
      { CustomerAWSAccountId: ACCOUNT, Timestamp: at(last), Quantity: 5 },
      { CustomerAWSAccountId: ACCOUNT, Timestamp: at(last, 1), Quantity: 6 },
      { CustomerAWSAccountId: ACCOUNT, Timestamp: at(hour), Quantity: 5 },
      { CustomerAWSAccountId: ACCOUNT, Timestamp: at(hour, 1800), Quantity: 7 },
    ]);
    const [a, b, c, d] = out.Results ?? [];
    expect([a?.Status, b?.Status, c?.Status, d?.Status]).toEqual(['Success', 'Success', 'Success', 'DuplicateRecord']);
    expect(b?.MeteringRecordId).not.toBe(a?.MeteringRecordId);
    expect(c?.MeteringRecordId).toBe(a?.MeteringRecordId);
    expect(emulator.records().map((r) => [r.hour, r.quantity])).toEqual([
      [hour, 5],
      [iso(hour, 3600), 6],
    ]);
  });

  it('SigV4 at midnight: the credential scope carries the signing date, not the server\'s', async () => {
    clock.set('2028-01-01T00:02:00.000Z');
    const body = JSON.stringify({ ProductCode: PRODUCT, PublicKeyVersion: 1 });
    // Signed 2 seconds before the new year, received 2 minutes into it: scope 20271231, accepted.
    expect((await signedRequest(emulator, { body, signingDate: at('2027-12-31T23:59:58Z') })).status).toBe(200);
    // More than 5 minutes before the server's time.
    expect((await signedRequest(emulator, { body, signingDate: at('2027-12-31T23:56:59Z') })).json()).toEqual({
      __type: 'InvalidSignatureException',
      message: 'Signature expired: 20271231T235659Z is now earlier than 20271231T235700Z (20280101T000200Z - 5 min.)',
    });
    // A date moved to the new year after signing no longer matches the scope.
    const moved = await signedRequest(emulator, { body, signingDate: at('2027-12-31T23:59:58Z'), sendHeaders: { 'x-amz-date': '20280101T000001Z' } });
    expect(moved.status).toBe(403);
    expect(moved.json()).toEqual({
      __type: 'InvalidSignatureException',
      message: "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20271231' != '20280101', from '20280101T000001Z'.",
    });
  });
});
