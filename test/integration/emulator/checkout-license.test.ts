import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CheckInLicenseCommand, CheckoutLicenseCommand, GetLicenseCommand, RedirectException } from '@aws-sdk/client-license-manager';
import { decodeProtectedHeader, importSPKI, jwtVerify } from 'jose';
import { CRED, manualClock, QUIET, rejection, startTestEmulator } from '../../helpers/emulator-requests.js';
import type { TestEmulator } from '../../helpers/emulator-requests.js';
import { BUYER, checkout, drawdown, FINGERPRINT, licenseClient, ONE_USER, OTHER, seats, SKU, tiers } from '../../helpers/license-manager.js';

const ALL_TIERS = [
  { Name: 'BasicTier', Unit: 'None' },
  { Name: 'PremiumTier', Unit: 'None' },
  { Name: 'EnterpriseTier', Unit: 'None' },
] as const;

describe('CheckoutLicense through the AWS SDK v3', () => {
  let emulator: TestEmulator;
  const clock = manualClock(QUIET);
  beforeAll(async () => {
    emulator = await startTestEmulator({ clock, credentials: [CRED, OTHER], scenario: { licenseManagerRateLimit: null } });
  });
  afterAll(() => emulator.close());
  beforeEach(() => {
    emulator.reset();
    clock.set(QUIET);
  });

  describe('tiers (Unit None)', () => {
    it('answers the tier the buyer bought when the checkout asks for every tier', async () => {
      const license = emulator.putLicense(tiers());
      const out = await checkout(licenseClient(emulator), [...ALL_TIERS]);
      expect(out.EntitlementsAllowed).toEqual([{ Name: 'PremiumTier', Unit: 'None' }]);
      expect(out).toMatchObject({ CheckoutType: 'PROVISIONAL', LicenseArn: license.licenseArn, IssuedAt: QUIET, Expiration: '2027-06-15T13:15:00.000Z' });
      expect(out.LicenseConsumptionToken).toMatch(/^[0-9a-f]{32}$/);
      expect(out.SignedToken).toBeUndefined();
      expect(out.NodeId).toBeUndefined();
    });

    it('refuses with NoEntitlementsAllowedException when the license has none of the tiers asked for', async () => {
      emulator.putLicense(tiers());
      const err = await rejection(checkout(licenseClient(emulator), [{ Name: 'BasicTier', Unit: 'None' }]));
      expect(err.name).toBe('NoEntitlementsAllowedException');
      expect(err.$metadata?.httpStatusCode).toBe(400);
      expect(err.message).toMatch(/^No Entitlements Allowed\. License arn:aws:license-manager::294406891311:license:l-[0-9a-f]{32} has none of the entitlements asked for \(name and unit must both match\); it has: PremiumTier \(None\)\.$/);
    });

    it('a tier checkout takes nothing: any number of nodes get it', async () => {
      emulator.putLicense(tiers());
      const client = licenseClient(emulator);
      for (let i = 0; i < 5; i++) expect((await checkout(client, [...ALL_TIERS])).EntitlementsAllowed).toHaveLength(1);
      expect(emulator.licenses()[0]?.entitlements[0]).toMatchObject({ inUse: 0, consumed: 0, available: null });
    });
  });

  it('refuses a Count entitlement asked with Unit None (the field trap), and takes it with Unit Count', async () => {
    emulator.putLicense(seats(5));
    const client = licenseClient(emulator);
    const err = await rejection(checkout(client, [{ Name: 'Users', Unit: 'None' }]));
    expect(err.name).toBe('NoEntitlementsAllowedException');
    expect(err.message).toContain('it has: Users (Count)');
    expect((await checkout(client, ONE_USER)).EntitlementsAllowed).toEqual(ONE_USER);
  });

  it('takes only what the license has when the checkout asks for more entitlements', async () => {
    emulator.putLicense({ ...seats(5), entitlements: [{ name: 'Users', unit: 'Count', maxCount: 5 }, { name: 'PremiumTier', unit: 'None' }] });
    const out = await checkout(licenseClient(emulator), [...ONE_USER, { Name: 'Admins', Unit: 'Count', Value: '1' }, ...ALL_TIERS]);
    expect(out.EntitlementsAllowed).toEqual([...ONE_USER, { Name: 'PremiumTier', Unit: 'None' }]);
  });

  describe('floating seats (PROVISIONAL, Count with MaxCount)', () => {
    it('two seats, three checkouts: two succeed, the third fails until one is checked in', async () => {
      emulator.putLicense(seats(2));
      const client = licenseClient(emulator);
      const first = await checkout(client, ONE_USER);
      await checkout(client, ONE_USER);
      const third = await rejection(checkout(client, ONE_USER));
      expect(third.name).toBe('NoEntitlementsAllowedException');
      expect(third.message).toBe('No Entitlements Allowed. Entitlement Users: 0 of 2 Count left (2 in use, 0 consumed), 1 asked.');
      expect(emulator.licenses()[0]?.entitlements[0]).toMatchObject({ maxCount: 2, inUse: 2, consumed: 0, available: 0 });

      await client.send(new CheckInLicenseCommand({ LicenseConsumptionToken: first.LicenseConsumptionToken }));
      expect(emulator.licenses()[0]?.entitlements[0]).toMatchObject({ inUse: 1, available: 1 });
      expect((await checkout(client, ONE_USER)).EntitlementsAllowed).toEqual(ONE_USER);
    });

    it('a checkout of Value v takes v seats', async () => {
      emulator.putLicense(seats(5));
      const client = licenseClient(emulator);
      await checkout(client, [{ Name: 'Users', Unit: 'Count', Value: '4' }]);
      expect((await rejection(checkout(client, [{ Name: 'Users', Unit: 'Count', Value: '2' }]))).message).toContain('1 of 5 Count left');
      await checkout(client, ONE_USER);
      expect(emulator.consumptions().map((c) => c.entitlements[0]?.units)).toEqual([4, 1]);
    });

    it('Overage lets checkouts take more than MaxCount', async () => {
      emulator.putLicense({ ...seats(1), entitlements: [{ name: 'Users', unit: 'Count', maxCount: 1, overage: true }] });
      const client = licenseClient(emulator);
      await checkout(client, ONE_USER);
      await checkout(client, ONE_USER);
      expect(emulator.licenses()[0]?.entitlements[0]).toMatchObject({ inUse: 2, available: 0 });
    });

    it.each([
      [undefined, 'has a MaxCount: the checkout needs a Value, the number of units to take'],
      ['0', "Value '0' of entitlement Users must be a whole number >= 1 of Count"],
      ['1.5', "Value '1.5' of entitlement Users must be a whole number >= 1 of Count"],
      ['one', "Value 'one' of entitlement Users must be a whole number >= 1 of Count"],
    ])('a pooled Count entitlement with Value %j is InvalidParameterValueException', async (Value, message) => {
      emulator.putLicense(seats(5));
      const err = await rejection(checkout(licenseClient(emulator), [{ Name: 'Users', Unit: 'Count', ...(Value === undefined ? {} : { Value }) }]));
      expect(err.name).toBe('InvalidParameterValueException');
      expect(err.message).toContain(message);
      expect(emulator.consumptions()).toEqual([]);
    });
  });

  describe('drawdown (PERPETUAL)', () => {
    it('spends units for good and refuses once the pool is spent, whatever the clock does', async () => {
      emulator.putLicense(drawdown(10));
      const client = licenseClient(emulator);
      const gb = (n: string) => [{ Name: 'DataProcessed', Unit: 'Gigabytes' as const, Value: n }];
      await checkout(client, gb('6'), { CheckoutType: 'PERPETUAL' });
      expect((await rejection(checkout(client, gb('4.5'), { CheckoutType: 'PERPETUAL' }))).message).toContain('4 of 10 Gigabytes left (0 in use, 6 consumed), 4.5 asked');
      await checkout(client, gb('3.5'), { CheckoutType: 'PERPETUAL' });
      clock.advance(30 * 86_400_000);
      await checkout(client, gb('0.5'), { CheckoutType: 'PERPETUAL' });
      const spent = await rejection(checkout(client, gb('0.5'), { CheckoutType: 'PERPETUAL' }));
      expect(spent.name).toBe('NoEntitlementsAllowedException');
      expect(emulator.licenses()[0]?.entitlements[0]).toMatchObject({ maxCount: 10, inUse: 0, consumed: 10, available: 0 });
    });
  });

  describe('which license', () => {
    it('never matches a license the buyer issued to themselves, even one named AWS/Marketplace', async () => {
      const own = `aws:${BUYER}:AWS/Marketplace:issuer-fingerprint`;
      emulator.putLicense(seats(5, { issuer: { name: 'AWS/Marketplace', keyFingerprint: own } }));
      const client = licenseClient(emulator);
      const err = await rejection(checkout(client, ONE_USER));
      expect(err.name).toBe('NoEntitlementsAllowedException');
      expect(err.message).toBe(`No Entitlements Allowed. Account ${BUYER} has no license of product SKU ${SKU} from the issuer with key fingerprint ${FINGERPRINT}.`);
      // It is a license all the same, for whoever asks with its own issuer's fingerprint.
      expect((await checkout(client, ONE_USER, { KeyFingerprint: own })).EntitlementsAllowed).toEqual(ONE_USER);
    });

    it('refuses a self-issued license seed that claims AWS Marketplace\'s fingerprint', () => {
      expect(() => emulator.putLicense(seats(5, { issuer: { name: 'Me', keyFingerprint: FINGERPRINT } }))).toThrow(
        `invalid license seed: issuer: only AWS Marketplace issues licenses with the fingerprint ${FINGERPRINT}; say issuer: 'aws-marketplace'`,
      );
    });

    it('finds only the caller\'s account\'s license, and nothing for another SKU', async () => {
      emulator.putLicense(seats(5));
      const other = await rejection(checkout(licenseClient(emulator, { credential: OTHER }), ONE_USER));
      expect(other.name).toBe('NoEntitlementsAllowedException');
      expect(other.message).toContain(`Account ${OTHER.accountId} has no license`);
      expect((await rejection(checkout(licenseClient(emulator), ONE_USER, { ProductSKU: randomUUID() }))).name).toBe('NoEntitlementsAllowedException');
    });

    it('checks out the most recently created of two licenses of the same product', async () => {
      emulator.putLicense(seats(1));
      const newer = emulator.putLicense(seats(3));
      expect((await checkout(licenseClient(emulator), ONE_USER)).LicenseArn).toBe(newer.licenseArn);
    });

    it('answers RedirectException with Location = the home region for a license of another region', async () => {
      emulator.putLicense(seats(5, { homeRegion: 'eu-central-1' }));
      const err = await rejection(checkout(licenseClient(emulator), ONE_USER));
      expect(err).toBeInstanceOf(RedirectException);
      expect((err as RedirectException).Location).toBe('eu-central-1');
      expect(err.$metadata?.httpStatusCode).toBe(308);
      expect(err.message).toBe("This is not the correct Region for the resource. Try again. The license's home region is eu-central-1.");
    });
  });

  describe('status and validity', () => {
    it.each(['PENDING_AVAILABLE', 'DEACTIVATED', 'SUSPENDED', 'EXPIRED', 'PENDING_DELETE', 'DELETED'] as const)('a %s license is not checked out, and GetLicense shows the status', async (status) => {
      const license = emulator.putLicense(seats(5, { status }));
      const client = licenseClient(emulator);
      const err = await rejection(checkout(client, ONE_USER));
      expect(err.name).toBe('NoEntitlementsAllowedException');
      expect(err.message).toBe(`No Entitlements Allowed. License ${license.licenseArn} is ${status}.`);
      expect((await client.send(new GetLicenseCommand({ LicenseArn: license.licenseArn }))).License?.Status).toBe(status);
    });

    it('a status set at run time applies to the next checkout', async () => {
      const license = emulator.putLicense(seats(5));
      const client = licenseClient(emulator);
      await checkout(client, ONE_USER);
      expect(emulator.setLicenseStatus(license.licenseArn, 'SUSPENDED')).toMatchObject({ status: 'SUSPENDED', version: 1 });
      expect((await rejection(checkout(client, ONE_USER))).name).toBe('NoEntitlementsAllowedException');
      emulator.setLicenseStatus(license.licenseArn, 'AVAILABLE');
      expect((await checkout(client, ONE_USER)).LicenseArn).toBe(license.licenseArn);
    });

    it('is refused before Validity.Begin and from Validity.End on, by the emulator\'s clock', async () => {
      const license = emulator.putLicense(seats(5, { validity: { begin: '2027-07-01T00:00:00Z', end: '2028-07-01T00:00:00Z' } }));
      const client = licenseClient(emulator);
      expect((await rejection(checkout(client, ONE_USER))).message).toBe(`No Entitlements Allowed. License ${license.licenseArn} is valid from 2027-07-01T00:00:00.000Z.`);
      clock.set('2027-07-01T00:00:00Z');
      await checkout(client, ONE_USER);
      clock.set('2028-06-30T23:59:59.999Z');
      await checkout(client, ONE_USER);
      clock.set('2028-07-01T00:00:00Z');
      expect((await rejection(checkout(client, ONE_USER))).message).toBe(`No Entitlements Allowed. License ${license.licenseArn} expired at 2028-07-01T00:00:00.000Z.`);
      expect((await client.send(new GetLicenseCommand({ LicenseArn: license.licenseArn }))).License?.Validity).toEqual({ Begin: '2027-07-01T00:00:00.000Z', End: '2028-07-01T00:00:00.000Z' });
    });
  });

  describe('ClientToken', () => {
    it('a retry with the same token and request gets the first answer and takes no second seat', async () => {
      emulator.putLicense(seats(1));
      const client = licenseClient(emulator);
      const first = await checkout(client, ONE_USER, { ClientToken: 'retry-0001' });
      const again = await checkout(client, ONE_USER, { ClientToken: 'retry-0001' });
      expect(again.LicenseConsumptionToken).toBe(first.LicenseConsumptionToken);
      expect(again.Expiration).toBe(first.Expiration);
      expect(emulator.consumptions()).toHaveLength(1);
      expect(emulator.licenses()[0]?.entitlements[0]).toMatchObject({ inUse: 1 });
    });

    it('the same token with other parameters is InvalidParameterValueException', async () => {
      emulator.putLicense(seats(5));
      const client = licenseClient(emulator);
      await checkout(client, ONE_USER, { ClientToken: 'retry-0002' });
      const err = await rejection(checkout(client, [{ Name: 'Users', Unit: 'Count', Value: '2' }], { ClientToken: 'retry-0002' }));
      expect(err.name).toBe('InvalidParameterValueException');
      expect(err.message).toBe('One or more parameter values are not valid. The ClientToken was used before with different parameters.');
    });

    it('is the account\'s: another account may use the same token', async () => {
      emulator.putLicense(seats(5));
      emulator.putLicense(seats(5, { beneficiaryAccountId: OTHER.accountId }));
      await checkout(licenseClient(emulator), ONE_USER, { ClientToken: 'shared-token' });
      await checkout(licenseClient(emulator, { credential: OTHER }), ONE_USER, { ClientToken: 'shared-token' });
      expect(emulator.consumptions().map((c) => c.accountId)).toEqual([BUYER, OTHER.accountId]);
    });
  });

  describe('SignedToken', () => {
    it('a signed license answers a PS384 JWT that the issuer key verifies, with the sample\'s claims', async () => {
      const license = emulator.putLicense(seats(5, { signed: true }));
      const out = await checkout(licenseClient(emulator), ONE_USER, { NodeId: 'node-7' });
      const token = out.SignedToken ?? '';
      expect(decodeProtectedHeader(token)).toEqual({ alg: 'PS384', typ: 'JWT' });
      const { payload } = await jwtVerify(token, await importSPKI(emulator.licenseIssuerPublicKeyPem, 'PS384'), { algorithms: ['PS384'] });
      expect(payload).toEqual({
        licenseArn: license.licenseArn,
        licenseConsumptionToken: out.LicenseConsumptionToken,
        entitlementsAllowed: [{ name: 'Users', value: '1', unit: 'Count' }],
        nodeId: 'node-7',
        checkoutType: 'PROVISIONAL',
        issuedAt: '2027-06-15T12:15:00',
        expiration: '2027-06-15T13:15:00',
      });
      expect(out.NodeId).toBe('node-7');
      await expect(jwtVerify(token, await importSPKI(emulator.publicKeyPem, 'PS384'), { algorithms: ['PS384'] })).rejects.toThrow('signature verification failed');
    });
  });

  describe('input, as the model states it', () => {
    it.each([
      [{ CheckoutType: 'FOREVER' }, "Value 'FOREVER' at 'checkoutType' failed to satisfy constraint: Member must satisfy enum value set: [PROVISIONAL, PERPETUAL]"],
      [{ ClientToken: 'has space' }, "Value 'has space' at 'clientToken' failed to satisfy constraint: Member must satisfy regular expression pattern: \\S+"],
      [{ ClientToken: 'x'.repeat(2049) }, 'Member must have length less than or equal to 2048'],
      [{ Entitlements: [{ Name: 'Users', Unit: 'Seats' }] }, "Value 'Seats' at 'entitlements.1.member.unit' failed to satisfy constraint: Member must satisfy enum value set: [Count, None, Seconds,"],
    ])('input %# is a ValidationException', async (input, message) => {
      const err = await rejection(
        licenseClient(emulator).send(
          new CheckoutLicenseCommand({ ProductSKU: SKU, CheckoutType: 'PROVISIONAL', KeyFingerprint: FINGERPRINT, Entitlements: ONE_USER, ClientToken: 'ok', ...input } as never),
        ),
      );
      expect(err.name).toBe('ValidationException');
      expect(err.message).toContain(message);
    });

    it('lists every missing required member at once', async () => {
      const err = await rejection(licenseClient(emulator).send(new CheckoutLicenseCommand({} as never)));
      expect(err.message).toBe(
        '5 validation errors detected: ' +
          ["productSKU", 'checkoutType', 'keyFingerprint', 'entitlements', 'clientToken'].map((m) => `Value null at '${m}' failed to satisfy constraint: Member must not be null`).join('; '),
      );
    });

    it('the same entitlement twice is InvalidParameterValueException', async () => {
      emulator.putLicense(seats(5));
      const err = await rejection(checkout(licenseClient(emulator), [...ONE_USER, ...ONE_USER]));
      expect(err.name).toBe('InvalidParameterValueException');
      expect(err.message).toContain('Entitlement Users (Count) is asked for twice.');
    });
  });
});
