import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CheckInLicenseCommand, GetLicenseCommand, ListReceivedLicensesCommand } from '@aws-sdk/client-license-manager';
import { startEmulator } from '../../../src/emulator/index.js';
import { CRED, JSON_TYPE, manualClock, QUIET, rawRequest, rejection, signedRequest, startTestEmulator } from '../../helpers/emulator-requests.js';
import type { TestEmulator } from '../../helpers/emulator-requests.js';
import { BUYER, checkout, FINGERPRINT, licenseClient, ONE_USER, OTHER, seats, SKU, tiers } from '../../helpers/license-manager.js';

const ARN = 'arn:aws:license-manager::294406891311:license:l-0123456789abcdef0123456789abcdef';

describe('GetLicense and ListReceivedLicenses (SDK v3)', () => {
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

  it('GetLicense answers the model\'s License: issuer, status, validity, entitlements, consumption configuration, version', async () => {
    emulator.putLicense({ ...seats(5, { licenseArn: ARN, productName: 'Scanner', validity: { begin: '2027-01-01T00:00:00Z', end: '2028-01-01T00:00:00Z' } }), entitlements: [{ name: 'Users', unit: 'Count', maxCount: 5, overage: false }, { name: 'PremiumTier', unit: 'None', value: 'Enabled' }] });
    const out = await licenseClient(emulator).send(new GetLicenseCommand({ LicenseArn: ARN }));
    expect(out.License).toEqual({
      LicenseArn: ARN,
      LicenseName: 'Scanner',
      ProductName: 'Scanner',
      ProductSKU: SKU,
      Issuer: { Name: 'AWS/Marketplace', KeyFingerprint: FINGERPRINT },
      HomeRegion: 'us-east-1',
      Status: 'AVAILABLE',
      Validity: { Begin: '2027-01-01T00:00:00.000Z', End: '2028-01-01T00:00:00.000Z' },
      Beneficiary: BUYER,
      Entitlements: [
        { Name: 'Users', MaxCount: 5, Overage: false, Unit: 'Count', AllowCheckIn: true },
        { Name: 'PremiumTier', Value: 'Enabled', Overage: false, Unit: 'None', AllowCheckIn: true },
      ],
      ConsumptionConfiguration: { RenewType: 'None', ProvisionalConfiguration: { MaxTimeToLiveInMinutes: 60 } },
      LicenseMetadata: [],
      CreateTime: QUIET,
      Version: '1',
    });
  });

  it('a signed license shows the issuer\'s SignKey', async () => {
    emulator.putLicense(seats(5, { licenseArn: ARN, signed: true }));
    const out = await licenseClient(emulator).send(new GetLicenseCommand({ LicenseArn: ARN }));
    expect(out.License?.Issuer?.SignKey).toMatch(/^arn:aws:kms:us-east-1:294406891311:key\/[0-9a-f-]{36}$/);
  });

  it('an upgrade arrives as a new version: the same CheckoutLicense sees it, GetLicense answers either version', async () => {
    emulator.putLicense(tiers({ licenseArn: ARN, entitlements: [{ name: 'BasicTier', unit: 'None' }] }));
    const client = licenseClient(emulator);
    const asked = [{ Name: 'BasicTier', Unit: 'None' as const }, { Name: 'PremiumTier', Unit: 'None' as const }];
    expect((await checkout(client, asked)).EntitlementsAllowed).toEqual([{ Name: 'BasicTier', Unit: 'None' }]);
    clock.advance(86_400_000);
    const upgraded = emulator.putLicense(tiers({ licenseArn: ARN, entitlements: [{ name: 'PremiumTier', unit: 'None' }] }));
    expect(upgraded).toMatchObject({ licenseArn: ARN, version: 2, createTime: '2027-06-16T12:15:00.000Z' });
    expect((await checkout(client, asked)).EntitlementsAllowed).toEqual([{ Name: 'PremiumTier', Unit: 'None' }]);
    expect((await client.send(new GetLicenseCommand({ LicenseArn: ARN }))).License).toMatchObject({ Version: '2', Entitlements: [{ Name: 'PremiumTier' }] });
    expect((await client.send(new GetLicenseCommand({ LicenseArn: ARN, Version: '1' }))).License).toMatchObject({ Version: '1', Entitlements: [{ Name: 'BasicTier' }] });
    const none = await rejection(client.send(new GetLicenseCommand({ LicenseArn: ARN, Version: '3' })));
    expect(none.name).toBe('InvalidParameterValueException');
    expect(none.message).toBe(`One or more parameter values are not valid. License ${ARN} has no version '3'; its versions are 1 to 2.`);
    expect(emulator.licenses()).toHaveLength(1);
  });

  it('a renewal keeps the seats in use: checkouts of version 1 still count against version 2', async () => {
    emulator.putLicense(seats(2, { licenseArn: ARN }));
    const client = licenseClient(emulator);
    await checkout(client, ONE_USER);
    await checkout(client, ONE_USER);
    emulator.putLicense(seats(3, { licenseArn: ARN }));
    await checkout(client, ONE_USER);
    expect((await rejection(checkout(client, ONE_USER))).message).toContain('0 of 3 Count left (3 in use');
  });

  it('a new version cannot move the license to another account', () => {
    emulator.putLicense(seats(2, { licenseArn: ARN }));
    expect(() => emulator.putLicense(seats(2, { licenseArn: ARN, beneficiaryAccountId: OTHER.accountId }))).toThrow(
      `invalid license seed: ${ARN} is account ${BUYER}'s license; a new version cannot change its beneficiaryAccountId`,
    );
  });

  it('GetLicense of a license the account does not hold is InvalidParameterValueException; a bad ARN is ValidationException', async () => {
    emulator.putLicense(seats(2, { licenseArn: ARN }));
    const other = await rejection(licenseClient(emulator, { credential: OTHER }).send(new GetLicenseCommand({ LicenseArn: ARN })));
    expect(other.name).toBe('InvalidParameterValueException');
    expect(other.message).toBe(`One or more parameter values are not valid. Account ${OTHER.accountId} has no license ${ARN}.`);
    const bad = await rejection(licenseClient(emulator).send(new GetLicenseCommand({ LicenseArn: 'l-123' })));
    expect(bad.name).toBe('ValidationException');
    expect(bad.message).toMatch(/^1 validation error detected: Value 'l-123' at 'licenseArn' failed to satisfy constraint: Member must satisfy regular expression pattern: \^arn:aws/);
  });

  it('ListReceivedLicenses lists the account\'s licenses with ReceivedMetadata, by filter and by ARN', async () => {
    const a = emulator.putLicense(seats(2));
    const b = emulator.putLicense(tiers({ productSku: 'other-sku', status: 'EXPIRED' }));
    emulator.putLicense(seats(2, { beneficiaryAccountId: OTHER.accountId }));
    const client = licenseClient(emulator);
    const all = await client.send(new ListReceivedLicensesCommand({}));
    expect(all.Licenses?.map((l) => l.LicenseArn)).toEqual([a.licenseArn, b.licenseArn]);
    expect(all.Licenses?.[0]?.ReceivedMetadata).toEqual({ ReceivedStatus: 'ACTIVE', AllowedOperations: ['CheckoutLicense', 'CheckInLicense', 'ExtendConsumptionLicense', 'ListPurchasedLicenses'] });
    expect(all.NextToken).toBeUndefined();
    const list = async (input: object) => (await client.send(new ListReceivedLicensesCommand(input))).Licenses?.map((l) => l.LicenseArn);
    expect(await list({ Filters: [{ Name: 'ProductSKU', Values: [SKU] }] })).toEqual([a.licenseArn]);
    expect(await list({ Filters: [{ Name: 'Status', Values: ['EXPIRED', 'SUSPENDED'] }] })).toEqual([b.licenseArn]);
    expect(await list({ Filters: [{ Name: 'Fingerprint', Values: [FINGERPRINT] }, { Name: 'Beneficiary', Values: [BUYER] }] })).toEqual([a.licenseArn, b.licenseArn]);
    expect(await list({ Filters: [{ Name: 'IssuerName', Values: ['Someone'] }] })).toEqual([]);
    expect(await list({ LicenseArns: [b.licenseArn] })).toEqual([b.licenseArn]);
  });

  it('ListReceivedLicenses pages by MaxResults with a NextToken good for the same query only', async () => {
    const arns = [1, 2, 3].map(() => emulator.putLicense(seats(1)).licenseArn);
    const client = licenseClient(emulator);
    const first = await client.send(new ListReceivedLicensesCommand({ MaxResults: 2 }));
    expect(first.Licenses?.map((l) => l.LicenseArn)).toEqual(arns.slice(0, 2));
    const second = await client.send(new ListReceivedLicensesCommand({ MaxResults: 2, NextToken: first.NextToken }));
    expect(second.Licenses?.map((l) => l.LicenseArn)).toEqual(arns.slice(2));
    expect(second.NextToken).toBeUndefined();
    const mixed = await rejection(client.send(new ListReceivedLicensesCommand({ MaxResults: 2, NextToken: first.NextToken, Filters: [{ Name: 'Status', Values: ['AVAILABLE'] }] })));
    expect(mixed.name).toBe('InvalidParameterValueException');
    expect((await rejection(client.send(new ListReceivedLicensesCommand({ MaxResults: 0 })))).name).toBe('ValidationException');
  });

  it('ListReceivedLicenses refuses a filter name the model does not list, and a filter without values', async () => {
    const client = licenseClient(emulator);
    const name = await rejection(client.send(new ListReceivedLicensesCommand({ Filters: [{ Name: 'ProductName', Values: ['x'] }] })));
    expect(name.name).toBe('InvalidParameterValueException');
    expect(name.message).toContain("Filter name 'ProductName' is not supported; use one of: ProductSKU, Status, Fingerprint, IssuerName, Beneficiary.");
    expect((await rejection(client.send(new ListReceivedLicensesCommand({ Filters: [{ Name: 'Status', Values: [] }] })))).message).toContain('Filter Status needs at least one value.');
  });
});

describe('License Manager faults, quotas and IAM denials', () => {
  let emulator: TestEmulator;
  const clock = manualClock(QUIET);
  beforeAll(async () => {
    emulator = await startTestEmulator({ clock, credentials: [CRED, OTHER] });
  });
  afterAll(() => emulator.close());
  beforeEach(() => {
    emulator.reset();
    emulator.setScenario({ throttle: 0, internalError: 0, faultOperations: null, authorizationErrors: {}, licenseManagerRateLimit: { perSecond: 10, burst: 10 } });
    clock.set(QUIET);
    emulator.putLicense(seats(100));
  });

  it('an injected throttle is RateLimitExceededException (429), an injected fault ServerInternalException (500)', async () => {
    emulator.setScenario({ throttle: 1, internalError: 1 });
    const client = licenseClient(emulator);
    const throttled = await rejection(checkout(client, ONE_USER));
    expect(throttled.name).toBe('RateLimitExceededException');
    expect(throttled.$metadata?.httpStatusCode).toBe(429);
    expect(throttled.message).toBe('Rate exceeded');
    const fault = await rejection(checkout(client, ONE_USER));
    expect(fault.name).toBe('ServerInternalException');
    expect(fault.$metadata?.httpStatusCode).toBe(500);
    expect((await checkout(client, ONE_USER)).EntitlementsAllowed).toEqual(ONE_USER);
    expect(emulator.state().counts['CheckoutLicense']).toEqual({ RateLimitExceededException: 1, ServerInternalException: 1, success: 1 });
  });

  it('faultOperations aims faults at one License Manager operation', async () => {
    emulator.setScenario({ throttle: 1, faultOperations: ['GetLicense'] });
    const client = licenseClient(emulator);
    await checkout(client, ONE_USER);
    const arn = emulator.licenses()[0]?.licenseArn;
    expect((await rejection(client.send(new GetLicenseCommand({ LicenseArn: arn })))).name).toBe('RateLimitExceededException');
    expect((await client.send(new GetLicenseCommand({ LicenseArn: arn }))).License?.LicenseArn).toBe(arn);
  });

  it('each operation has its own per-account bucket (10/s by default): the 11th checkout in the same instant is throttled', async () => {
    const client = licenseClient(emulator);
    for (let i = 0; i < 10; i++) await checkout(client, ONE_USER);
    expect((await rejection(checkout(client, ONE_USER))).name).toBe('RateLimitExceededException');
    // Another operation, and another account, have buckets of their own.
    await client.send(new ListReceivedLicensesCommand({}));
    await licenseClient(emulator, { credential: OTHER }).send(new ListReceivedLicensesCommand({}));
    clock.advance(100);
    await checkout(client, ONE_USER);
  });

  it.each([
    ['AuthorizationException', 403],
    ['AccessDeniedException', 401],
  ] as const)('authorizationErrors gives one credential %s (%i), with IAM\'s words; others are unaffected', async (code, status) => {
    emulator.setScenario({ authorizationErrors: { [CRED.accessKeyId]: code } });
    const err = await rejection(checkout(licenseClient(emulator), ONE_USER));
    expect(err.name).toBe(code);
    expect(err.$metadata?.httpStatusCode).toBe(status);
    expect(err.message).toBe(`User: arn:aws:iam::${BUYER}:user/${CRED.accessKeyId} is not authorized to perform: license-manager:CheckoutLicense`);
    expect((await rejection(licenseClient(emulator).send(new ListReceivedLicensesCommand({})))).name).toBe(code);
    expect((await rejection(checkout(licenseClient(emulator, { credential: OTHER }), ONE_USER))).name).toBe('NoEntitlementsAllowedException');
    expect(emulator.consumptions()).toEqual([]);
  });

  it('authorizationErrors follow faultOperations', async () => {
    emulator.setScenario({ authorizationErrors: { [CRED.accessKeyId]: 'AuthorizationException' }, faultOperations: ['CheckInLicense'] });
    const client = licenseClient(emulator);
    const held = await checkout(client, ONE_USER);
    expect((await rejection(client.send(new CheckInLicenseCommand({ LicenseConsumptionToken: held.LicenseConsumptionToken })))).name).toBe('AuthorizationException');
  });

  it('the scenario refuses authorizationErrors that are not a map of access keys to the two errors', () => {
    expect(() => emulator.setScenario({ authorizationErrors: { [CRED.accessKeyId]: 'Forbidden' } as never })).toThrow(
      'invalid emulator scenario: authorizationErrors must be an object mapping access key ids to one of: AuthorizationException, AccessDeniedException; "AKIAEMULATOR00000001": "Forbidden" is not',
    );
    expect(() => emulator.setScenario({ authorizationErrors: ['x'] as never })).toThrow('authorizationErrors must be an object');
  });

  it('answers License Manager\'s JSON 1.1 error form: __type and Message, the code in x-amzn-errortype, Location in a header', async () => {
    emulator.putLicense(seats(1, { homeRegion: 'ap-south-1', productSku: 'far-away' }));
    const res = await signedRequest(emulator, {
      service: 'license-manager',
      target: 'AWSLicenseManager.CheckoutLicense',
      body: JSON.stringify({ ProductSKU: 'far-away', CheckoutType: 'PROVISIONAL', KeyFingerprint: FINGERPRINT, Entitlements: ONE_USER, ClientToken: 't1' }),
    });
    expect(res.status).toBe(308);
    expect(res.headers['x-amzn-errortype']).toBe('RedirectException');
    expect(res.headers['location']).toBe('ap-south-1');
    expect(res.json()).toEqual({ __type: 'RedirectException', Message: "This is not the correct Region for the resource. Try again. The license's home region is ap-south-1.", Location: 'ap-south-1' });
    const unknown = await signedRequest(emulator, { service: 'license-manager', target: 'AWSLicenseManager.CreateLicense', body: '{}' });
    expect(unknown.json()).toEqual({ __type: 'UnknownOperationException', Message: 'Operation CreateLicense is not supported by this emulator.' });
  });

  it('a License Manager call signed for the Metering API\'s service name is refused', async () => {
    const res = await signedRequest(emulator, { service: 'aws-marketplace', target: 'AWSLicenseManager.ListReceivedLicenses', body: '{}' });
    expect(res.status).toBe(403);
    expect(res.json()).toEqual({ __type: 'InvalidSignatureException', Message: "Credential should be scoped to correct service: 'license-manager'. " });
  });
});

describe('licenses at start, reset, and the admin endpoints', () => {
  it('startEmulator refuses bad seeds, listing every problem with its place', async () => {
    await expect(
      startEmulator({ region: 'us-east-1', licenses: [{ beneficiaryAccountId: '12', productSku: SKU, entitlements: [] }, { ...seats(1), status: 'GONE', colour: 'red' }] as never }),
    ).rejects.toThrow(
      'invalid emulator options: licenses[0].beneficiaryAccountId must be a 12-digit AWS account id; licenses[0].entitlements must be a non-empty list; ' +
        'licenses[1].colour is not a field; allowed: licenseArn, beneficiaryAccountId, productSku, productName, issuer, homeRegion, status, validity, entitlements, signed; ' +
        'licenses[1].status must be one of: AVAILABLE, PENDING_AVAILABLE, DEACTIVATED, SUSPENDED, EXPIRED, PENDING_DELETE, DELETED',
    );
    await expect(startEmulator({ region: 'us-east-1', licenseManager: { consumptionTtlSeconds: 0, signingKeyBits: 1024 } })).rejects.toThrow(
      'invalid emulator options: licenseManager.consumptionTtlSeconds must be an integer from 1 to 604800; licenseManager.signingKeyBits must be an integer from 2048 to 8192',
    );
  });

  it('seeded licenses are there from the start, and reset brings them back as seeded', async () => {
    const clock = manualClock(QUIET);
    const emulator = await startTestEmulator({ clock, licenses: [seats(1, { licenseArn: ARN })] });
    try {
      expect(emulator.licenses()).toEqual([expect.objectContaining({ licenseArn: ARN, version: 1, validity: { begin: QUIET, end: null } })]);
      await checkout(licenseClient(emulator), ONE_USER);
      emulator.setLicenseStatus(ARN, 'SUSPENDED');
      emulator.putLicense(seats(9));
      emulator.reset();
      expect(emulator.licenses()).toEqual([expect.objectContaining({ licenseArn: ARN, status: 'AVAILABLE', entitlements: [expect.objectContaining({ inUse: 0 })] })]);
      expect(emulator.consumptions()).toEqual([]);
      expect(() => emulator.setLicenseStatus(`${ARN.slice(0, -1)}0`, 'AVAILABLE')).toThrow(`setLicenseStatus: no license ${ARN.slice(0, -1)}0`);
    } finally {
      await emulator.close();
    }
  });

  it('the admin endpoints put licenses, change their status, and list licenses, checkouts and the issuer key', async () => {
    const clock = manualClock(QUIET);
    const emulator = await startTestEmulator({ clock });
    const admin = (method: string, name: string, body?: unknown) =>
      rawRequest(emulator.url, { method, path: `/_emulator/${name}`, headers: method === 'GET' ? {} : JSON_TYPE, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    try {
      const put = await admin('PUT', 'licenses', seats(2, { licenseArn: ARN }));
      expect(put.status).toBe(200);
      expect(put.json()).toMatchObject({ licenseArn: ARN, version: 1, entitlements: [{ name: 'Users', maxCount: 2, inUse: 0, available: 2 }] });
      expect((await admin('PUT', 'licenses', seats(3, { licenseArn: ARN }))).json()).toMatchObject({ version: 2 });
      const bad = await admin('PUT', 'licenses', { productSku: '' });
      expect(bad.status).toBe(400);
      expect(bad.json()).toEqual({
        error: 'invalid license seed',
        problems: [
          'beneficiaryAccountId must be a 12-digit AWS account id',
          'productSku must be 1-1024 characters without surrounding spaces (a UUID in practice)',
          'entitlements must be a non-empty list',
        ],
      });

      const held = await checkout(licenseClient(emulator), ONE_USER);
      expect((await admin('GET', 'consumptions')).json()).toEqual({
        consumptions: [
          {
            token: held.LicenseConsumptionToken,
            licenseArn: ARN,
            accountId: BUYER,
            checkoutType: 'PROVISIONAL',
            entitlements: [{ name: 'Users', unit: 'Count', value: '1', units: 1 }],
            nodeId: null,
            issuedAt: QUIET,
            expiration: '2027-06-15T13:15:00.000Z',
            checkedIn: false,
            active: true,
          },
        ],
      });
      expect((await admin('GET', 'licenses')).json()).toMatchObject({ licenses: [{ licenseArn: ARN, version: 2, entitlements: [{ inUse: 1, available: 2 }] }] });

      const status = await admin('PUT', 'licenses/status', { licenseArn: ARN, status: 'DEACTIVATED' });
      expect(status.status).toBe(200);
      expect(status.json()).toMatchObject({ licenseArn: ARN, status: 'DEACTIVATED' });
      expect((await admin('PUT', 'licenses/status', { licenseArn: `${ARN.slice(0, -1)}0`, status: 'AVAILABLE' })).status).toBe(404);
      expect((await admin('PUT', 'licenses/status', { licenseArn: ARN, status: 'GONE', why: 1 })).json()).toEqual({ error: 'invalid license status', problems: ['why is not a field; allowed: licenseArn, status'] });
      expect((await admin('PUT', 'licenses/status', { licenseArn: ARN, status: 'GONE' })).json()['problems']).toEqual([expect.stringMatching(/^status must be one of: AVAILABLE, /)]);

      const key = await admin('GET', 'license-issuer-key');
      expect(key.headers['content-type']).toBe('text/plain; charset=utf-8');
      expect(key.body).toBe(emulator.licenseIssuerPublicKeyPem);
      expect(key.body).not.toBe(emulator.publicKeyPem);

      const wrong = await admin('DELETE', 'licenses');
      expect(wrong.status).toBe(405);
      expect(wrong.headers['allow']).toBe('GET, PUT');
      // The admin surface's CSRF rule: a change needs a JSON content type.
      const form = await rawRequest(emulator.url, { method: 'PUT', path: '/_emulator/licenses', headers: { 'content-type': 'text/plain' }, body: JSON.stringify(seats(1)) });
      expect(form.status).toBe(415);
      expect(emulator.licenses()).toHaveLength(1);
    } finally {
      await emulator.close();
    }
  });
});
