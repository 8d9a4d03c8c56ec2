import { BatchMeterUsageCommand, ResolveCustomerCommand } from '@aws-sdk/client-marketplace-metering';
import type { MarketplaceMeteringClient } from '@aws-sdk/client-marketplace-metering';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DIMENSION, JSON_TYPE, manualClock, meteringClient, PRODUCT, QUIET, rawRequest, rejection, startTestEmulator } from '../../helpers/emulator-requests.js';
import type { TestEmulator } from '../../helpers/emulator-requests.js';

const ACCOUNT = '123456789012';
const LICENSE = 'arn:aws:license-manager::294406891311:license:l-00000000000000000000000000000001';

describe('ResolveCustomer through the AWS SDK v3, with tokens from the admin endpoint', () => {
  const clock = manualClock(QUIET);
  let emulator: TestEmulator;
  beforeAll(async () => {
    emulator = await startTestEmulator({ clock, productCodes: [PRODUCT], scenario: { resolveCustomerRateLimit: null } });
  });
  afterAll(() => emulator.close());
  beforeEach(() => {
    emulator.reset();
    emulator.setScenario({ mode: 'entitled', latencyMs: 0, resolveCustomerRateLimit: null });
  });

  const client = (): MarketplaceMeteringClient => meteringClient(emulator);
  const resolve = (token: string) => client().send(new ResolveCustomerCommand({ RegistrationToken: token }));
  const issue = async (body: unknown) => rawRequest(emulator.url, { method: 'POST', path: '/_emulator/registration-tokens', headers: JSON_TYPE, body: JSON.stringify(body) });

  it('POST /_emulator/registration-tokens issues a token that resolves to the customer, the same way every time', async () => {
    const res = await issue({ customerAWSAccountId: ACCOUNT, productCode: PRODUCT, licenseArn: LICENSE });
    expect(res.status).toBe(201);
    const { registrationToken, expiresAt } = res.json() as { registrationToken: string; expiresAt: string };
    expect(registrationToken).toMatch(/^[\w-]{64}$/);
    expect(expiresAt).toBe(new Date(clock.now().getTime() + 3_600_000).toISOString());
    for (let i = 0; i < 2; i++) {
      const out = await resolve(registrationToken);
      // New integrations get no CustomerIdentifier: the member is absent, not empty.
      expect({ ...out, $metadata: undefined }).toEqual({ $metadata: undefined, ProductCode: PRODUCT, CustomerAWSAccountId: ACCOUNT, LicenseArn: LICENSE });
    }
  });

  it('answers the legacy CustomerIdentifier when the token was issued with one', async () => {
    const { registrationToken } = emulator.issueRegistrationToken({ customerAWSAccountId: ACCOUNT, productCode: PRODUCT, customerIdentifier: 'cust-legacy-9' });
    const out = await resolve(registrationToken);
    expect(out.CustomerIdentifier).toBe('cust-legacy-9');
    expect(out.LicenseArn).toBeUndefined();
  });

  it('answers ExpiredTokenException once the token\'s lifetime has passed on the emulator\'s clock', async () => {
    const { registrationToken } = emulator.issueRegistrationToken({ customerAWSAccountId: ACCOUNT, productCode: PRODUCT, expiresInSeconds: 60 });
    clock.advance(59_999);
    expect((await resolve(registrationToken)).CustomerAWSAccountId).toBe(ACCOUNT);
    clock.advance(1);
    const err = await rejection(resolve(registrationToken));
    expect(err.name).toBe('ExpiredTokenException');
    expect(err.$metadata?.httpStatusCode).toBe(400);
  });

  it('answers InvalidTokenException for a token it never issued, and ValidationException for an empty one', async () => {
    expect((await rejection(resolve('x-amzn-marketplace-token-never-issued'))).name).toBe('InvalidTokenException');
    const empty = await rejection(resolve(''));
    expect(empty.name).toBe('ValidationException');
    expect(empty.message).toBe("1 validation error detected: Value '' at 'registrationToken' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\s\\S]+");
  });

  it('issuing a token subscribes the customer for BatchMeterUsage', async () => {
    const send = () =>
      client().send(new BatchMeterUsageCommand({ ProductCode: PRODUCT, UsageRecords: [{ CustomerAWSAccountId: ACCOUNT, Dimension: DIMENSION, Quantity: 2, Timestamp: clock.now() }] }));
    expect((await send()).Results?.[0]?.Status).toBe('CustomerNotSubscribed');
    emulator.issueRegistrationToken({ customerAWSAccountId: ACCOUNT, productCode: PRODUCT });
    expect((await send()).Results?.[0]?.Status).toBe('Success');
  });

  it('a reset forgets issued tokens and the customers they subscribed', async () => {
    const { registrationToken } = emulator.issueRegistrationToken({ customerAWSAccountId: ACCOUNT, productCode: PRODUCT });
    emulator.reset();
    expect((await rejection(resolve(registrationToken))).name).toBe('InvalidTokenException');
  });

  it('rejects bad token requests with 400 naming each field (and the programmatic call with a TypeError)', async () => {
    const res = await issue({ customerAWSAccountId: '42', productCode: 'prod-other', licenseArn: 'license', expiresInSeconds: 0, colour: 'red' });
    expect(res.status).toBe(400);
    expect(res.json()['problems']).toEqual([
      'colour is not a field; allowed: customerAWSAccountId, productCode, customerIdentifier, licenseArn, expiresInSeconds',
      'customerAWSAccountId must be a 12-digit AWS account id',
      'licenseArn must be a license ARN (arn:aws:license-manager::...:license:...)',
      `productCode prod-other is not one of the emulator's products: ${PRODUCT}`,
      'expiresInSeconds must be an integer from 1 to 604800',
    ]);
    expect((await issue({ productCode: PRODUCT })).json()['problems']).toEqual(['customerAWSAccountId is required']);
    expect((await rawRequest(emulator.url, { method: 'POST', path: '/_emulator/registration-tokens', headers: JSON_TYPE, body: 'token please' })).status).toBe(400);
    expect(() => emulator.issueRegistrationToken({ customerAWSAccountId: ACCOUNT, productCode: '' })).toThrow(/^invalid registration token request: productCode must be a product code/);
  });

  it('has the fault scenarios: throttle, internalError, latency, disabled-api', async () => {
    const { registrationToken } = emulator.issueRegistrationToken({ customerAWSAccountId: ACCOUNT, productCode: PRODUCT });
    emulator.setScenario({ throttle: 1, internalError: 1 });
    expect((await rejection(resolve(registrationToken))).name).toBe('ThrottlingException');
    expect((await rejection(resolve(registrationToken))).name).toBe('InternalServiceErrorException');
    emulator.setScenario({ mode: 'disabled-api' });
    expect((await rejection(resolve(registrationToken))).name).toBe('DisabledApiException');
    emulator.setScenario({ mode: 'not-entitled' });
    expect((await resolve(registrationToken)).ProductCode).toBe(PRODUCT);
    emulator.setScenario({ mode: 'entitled', latencyMs: 300 });
    const slow = meteringClient(emulator, { requestTimeout: 50 });
    expect((await rejection(slow.send(new ResolveCustomerCommand({ RegistrationToken: registrationToken })))).name).toBe('TimeoutError');
  });

  it('has its own rate limit', async () => {
    emulator.setScenario({ resolveCustomerRateLimit: { perSecond: 1, burst: 2 } });
    const { registrationToken } = emulator.issueRegistrationToken({ customerAWSAccountId: ACCOUNT, productCode: PRODUCT });
    const results = await Promise.allSettled([1, 2, 3].map(() => resolve(registrationToken)));
    expect(results.map((r) => (r.status === 'fulfilled' ? 'ok' : (r.reason as Error).name)).sort()).toEqual(['ThrottlingException', 'ok', 'ok']);
  });
});
