import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CheckInLicenseCommand, ExtendLicenseConsumptionCommand } from '@aws-sdk/client-license-manager';
import type { LicenseManagerClient } from '@aws-sdk/client-license-manager';
import { CRED, manualClock, QUIET, rejection, startTestEmulator } from '../../helpers/emulator-requests.js';
import type { TestEmulator } from '../../helpers/emulator-requests.js';
import { checkout, drawdown, licenseClient, ONE_USER, OTHER, seats } from '../../helpers/license-manager.js';

const MINUTE = 60_000;

describe('floating seats over time: expiry, ExtendLicenseConsumption, CheckInLicense (SDK v3, the emulator\'s clock)', () => {
  let emulator: TestEmulator;
  const clock = manualClock(QUIET);
  beforeAll(async () => {
    // A short consumption TTL, as a test would configure it: 10 minutes.
    emulator = await startTestEmulator({ clock, credentials: [CRED, OTHER], licenseManager: { consumptionTtlSeconds: 600 }, scenario: { licenseManagerRateLimit: null } });
  });
  afterAll(() => emulator.close());
  let client: LicenseManagerClient;
  beforeEach(() => {
    emulator.reset();
    clock.set(QUIET);
    client = licenseClient(emulator);
  });

  const extend = (token: string | undefined, DryRun?: boolean) => client.send(new ExtendLicenseConsumptionCommand({ LicenseConsumptionToken: token, ...(DryRun === undefined ? {} : { DryRun }) }));
  const checkIn = (token: string | undefined, c = client) => c.send(new CheckInLicenseCommand({ LicenseConsumptionToken: token }));

  it('a seat comes back by itself at the checkout\'s Expiration, not a millisecond before', async () => {
    emulator.putLicense(seats(1));
    const held = await checkout(client, ONE_USER);
    expect(held.Expiration).toBe('2027-06-15T12:25:00.000Z');
    clock.advance(10 * MINUTE - 1);
    expect((await rejection(checkout(client, ONE_USER))).name).toBe('NoEntitlementsAllowedException');
    clock.advance(1);
    expect(emulator.consumptions()[0]).toMatchObject({ token: held.LicenseConsumptionToken, active: false, checkedIn: false, expiration: '2027-06-15T12:25:00.000Z' });
    const next = await checkout(client, ONE_USER);
    expect(next.Expiration).toBe('2027-06-15T12:35:00.000Z');
  });

  it('two seats, three pods: the third gets a seat once the first checkout expires', async () => {
    emulator.putLicense(seats(2));
    await checkout(client, ONE_USER);
    clock.advance(5 * MINUTE);
    await checkout(client, ONE_USER);
    expect((await rejection(checkout(client, ONE_USER))).name).toBe('NoEntitlementsAllowedException');
    clock.advance(5 * MINUTE);
    await checkout(client, ONE_USER);
    expect(emulator.licenses()[0]?.entitlements[0]).toMatchObject({ inUse: 2, available: 0 });
  });

  it('ExtendLicenseConsumption keeps the seat for another TTL from now and answers the new Expiration', async () => {
    emulator.putLicense(seats(1));
    const held = await checkout(client, ONE_USER);
    clock.advance(8 * MINUTE);
    expect(await extend(held.LicenseConsumptionToken)).toMatchObject({ LicenseConsumptionToken: held.LicenseConsumptionToken, Expiration: '2027-06-15T12:33:00.000Z' });
    clock.advance(5 * MINUTE); // past the first Expiration (12:25)
    expect((await rejection(checkout(client, ONE_USER))).name).toBe('NoEntitlementsAllowedException');
    expect(emulator.consumptions()[0]).toMatchObject({ active: true, expiration: '2027-06-15T12:33:00.000Z' });
    clock.advance(5 * MINUTE); // past 12:33
    await checkout(client, ONE_USER);
  });

  it('a DryRun extension checks the token and changes nothing', async () => {
    emulator.putLicense(seats(1));
    const held = await checkout(client, ONE_USER);
    clock.advance(5 * MINUTE);
    expect((await extend(held.LicenseConsumptionToken, true)).Expiration).toBe('2027-06-15T12:25:00.000Z');
    expect(emulator.consumptions()[0]?.expiration).toBe('2027-06-15T12:25:00.000Z');
    expect((await rejection(extend('0'.repeat(32), true))).name).toBe('ResourceNotFoundException');
  });

  it('an expired checkout cannot be extended or checked in: ResourceNotFoundException', async () => {
    emulator.putLicense(seats(1));
    const held = await checkout(client, ONE_USER);
    clock.advance(10 * MINUTE);
    const late = await rejection(extend(held.LicenseConsumptionToken));
    expect(late.name).toBe('ResourceNotFoundException');
    expect(late.$metadata?.httpStatusCode).toBe(400);
    expect(late.message).toBe('The resource cannot be found. This license consumption expired at 2027-06-15T12:25:00.000Z.');
    expect((await rejection(checkIn(held.LicenseConsumptionToken))).name).toBe('ResourceNotFoundException');
  });

  it('CheckInLicense returns the seat at once; a second check-in is ResourceNotFoundException', async () => {
    emulator.putLicense(seats(1));
    const held = await checkout(client, ONE_USER);
    expect(await checkIn(held.LicenseConsumptionToken)).toMatchObject({ $metadata: { httpStatusCode: 200 } });
    expect(emulator.consumptions()[0]).toMatchObject({ checkedIn: true, active: false });
    await checkout(client, ONE_USER);
    const again = await rejection(checkIn(held.LicenseConsumptionToken));
    expect(again.name).toBe('ResourceNotFoundException');
    expect(again.message).toBe('The resource cannot be found. This license consumption was checked in.');
    expect((await rejection(extend(held.LicenseConsumptionToken))).name).toBe('ResourceNotFoundException');
  });

  it('a token of another account, or none the emulator gave, is ResourceNotFoundException', async () => {
    emulator.putLicense(seats(1));
    const held = await checkout(client, ONE_USER);
    const other = licenseClient(emulator, { credential: OTHER });
    expect((await rejection(checkIn(held.LicenseConsumptionToken, other))).message).toBe('The resource cannot be found. No license consumption has this LicenseConsumptionToken.');
    expect((await rejection(checkIn('not-a-token'))).name).toBe('ResourceNotFoundException');
    expect(emulator.consumptions()[0]?.active).toBe(true);
  });

  it('a PERPETUAL checkout cannot be checked in (ConflictException, 409), nor one of an entitlement without AllowCheckIn', async () => {
    emulator.putLicense(drawdown(10));
    const spent = await checkout(client, [{ Name: 'DataProcessed', Unit: 'Gigabytes', Value: '2' }], { CheckoutType: 'PERPETUAL' });
    const err = await rejection(checkIn(spent.LicenseConsumptionToken));
    expect(err.name).toBe('ConflictException');
    expect(err.$metadata?.httpStatusCode).toBe(409);
    expect(err.message).toBe('There was a conflict processing the request. Try your request again. A PERPETUAL checkout spends its units for good; it cannot be checked in.');

    emulator.reset();
    emulator.putLicense({ ...seats(1), entitlements: [{ name: 'Users', unit: 'Count', maxCount: 1, allowCheckIn: false }] });
    const held = await checkout(client, ONE_USER);
    expect((await rejection(checkIn(held.LicenseConsumptionToken))).message).toContain('Entitlement Users does not allow check-in');
    expect(emulator.licenses()[0]?.entitlements[0]?.inUse).toBe(1);
  });

  it('a PROVISIONAL checkout of a drawdown entitlement is held, not spent: it comes back at Expiration', async () => {
    emulator.putLicense(drawdown(10));
    await checkout(client, [{ Name: 'DataProcessed', Unit: 'Gigabytes', Value: '10' }]);
    expect(emulator.licenses()[0]?.entitlements[0]).toMatchObject({ inUse: 10, consumed: 0 });
    clock.advance(10 * MINUTE);
    expect(emulator.licenses()[0]?.entitlements[0]).toMatchObject({ inUse: 0, consumed: 0, available: 10 });
  });
});
