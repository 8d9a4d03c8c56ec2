/**
 * License Manager against AWS's own clients: Debian's AWS CLI v2 (/usr/bin/aws) and boto3
 * (/usr/bin/python3 with python3-boto3), whose botocore model of license-manager is older than the
 * SDK's (no HTTP statuses for its errors, RedirectException's Location in the body only). If the
 * emulator's JSON 1.1 wire form, its `Message` errors or its SigV4 check were off for the signing name
 * `license-manager`, these real clients would say so. They sign with the machine's clock, so the
 * emulator runs on realClock(); nothing here depends on the time.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { importSPKI, jwtVerify } from 'jose';
import { AWS_CLI, AWS_PYTHON, awsClientEnv, CRED, CRED_ENV, realClock, runProcess, startTestEmulator } from '../../helpers/emulator-requests.js';
import type { TestEmulator } from '../../helpers/emulator-requests.js';
import { FINGERPRINT, seats, SKU, tiers } from '../../helpers/license-manager.js';

const ARN = 'arn:aws:license-manager::294406891311:license:l-00000000000000000000000000000abc';

describe('AWS CLI v2 and boto3 drive License Manager', () => {
  let emulator: TestEmulator;
  let home: string;
  beforeAll(async () => {
    emulator = await startTestEmulator({ clock: realClock(), scenario: { licenseManagerRateLimit: null } });
    home = await mkdtemp(join(tmpdir(), 'emulator-aws-home-'));
  });
  afterAll(async () => {
    await emulator.close();
    await rm(home, { recursive: true, force: true });
  });
  beforeEach(() => {
    emulator.reset();
    emulator.setScenario({ authorizationErrors: {}, throttle: 0, internalError: 0 });
  });

  const env = (): NodeJS.ProcessEnv => awsClientEnv(home, CRED_ENV);
  const aws = (args: string[]) => runProcess(AWS_CLI, ['license-manager', ...args, '--endpoint-url', emulator.url, '--region', 'us-east-1', '--output', 'json'], env());
  const checkoutArgs = (entitlements: string, token: string, type = 'PROVISIONAL') => [
    'checkout-license', '--product-sku', SKU, '--checkout-type', type, '--key-fingerprint', FINGERPRINT, '--entitlements', ...entitlements.split(' '), '--client-token', token,
  ];
  /** The CLI's words for an error; with AWS_MAX_ATTEMPTS=1 it adds "(reached max retries: 0)" to every one. */
  const failed = (code: string, operation: string, message: string) => `An error occurred (${code}) when calling the ${operation} operation (reached max retries: 0): ${message}`;

  it('checkout-license, extend-license-consumption, check-in-license: a seat taken, kept and given back', async () => {
    emulator.putLicense(seats(1, { licenseArn: ARN, signed: true }));
    const out = await aws([...checkoutArgs('Name=Users,Value=1,Unit=Count', 'cli-token-1'), '--node-id', 'cli-node']);
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    const checked = JSON.parse(out.stdout) as Record<string, string>;
    expect(checked).toMatchObject({ CheckoutType: 'PROVISIONAL', LicenseArn: ARN, NodeId: 'cli-node', EntitlementsAllowed: [{ Name: 'Users', Value: '1', Unit: 'Count' }] });
    expect(Object.keys(checked)).toEqual(['CheckoutType', 'LicenseConsumptionToken', 'EntitlementsAllowed', 'SignedToken', 'NodeId', 'IssuedAt', 'Expiration', 'LicenseArn']);
    const { payload } = await jwtVerify(checked['SignedToken'] ?? '', await importSPKI(emulator.licenseIssuerPublicKeyPem, 'PS384'), { algorithms: ['PS384'] });
    expect(payload).toMatchObject({ licenseArn: ARN, licenseConsumptionToken: checked['LicenseConsumptionToken'], nodeId: 'cli-node' });
    expect(emulator.calls().at(-1)?.signedHeaders).toEqual(['content-type', 'host', 'x-amz-date', 'x-amz-target']);

    const full = await aws(checkoutArgs('Name=Users,Value=1,Unit=Count', 'cli-token-2'));
    expect(full.code).toBe(254);
    expect(full.stderr).toContain(failed('NoEntitlementsAllowedException', 'CheckoutLicense', 'No Entitlements Allowed. Entitlement Users: 0 of 1 Count left'));

    const extended = await aws(['extend-license-consumption', '--license-consumption-token', checked['LicenseConsumptionToken'] ?? '']);
    expect(extended.code).toBe(0);
    expect(JSON.parse(extended.stdout)).toEqual({ LicenseConsumptionToken: checked['LicenseConsumptionToken'], Expiration: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/) });

    const checkIn = await aws(['check-in-license', '--license-consumption-token', checked['LicenseConsumptionToken'] ?? '']);
    expect(checkIn.stderr).toBe('');
    expect(checkIn.code).toBe(0);
    const twice = await aws(['check-in-license', '--license-consumption-token', checked['LicenseConsumptionToken'] ?? '']);
    expect(twice.code).toBe(254);
    expect(twice.stderr).toContain(failed('ResourceNotFoundException', 'CheckInLicense', 'The resource cannot be found. This license consumption was checked in.'));
    expect((await aws(checkoutArgs('Name=Users,Value=1,Unit=Count', 'cli-token-3'))).code).toBe(0);
  });

  it('checkout-license of tiers answers the one bought; a Count entitlement asked as None is NoEntitlementsAllowedException', async () => {
    emulator.putLicense(tiers());
    const out = await aws(checkoutArgs('Name=BasicTier,Unit=None Name=PremiumTier,Unit=None', 'cli-tiers'));
    expect(out.code).toBe(0);
    expect(JSON.parse(out.stdout).EntitlementsAllowed).toEqual([{ Name: 'PremiumTier', Unit: 'None' }]);
    emulator.putLicense(seats(2, { productSku: 'seats-sku' }));
    const trap = await runProcess(
      AWS_CLI,
      ['license-manager', 'checkout-license', '--product-sku', 'seats-sku', '--checkout-type', 'PROVISIONAL', '--key-fingerprint', FINGERPRINT, '--entitlements', 'Name=Users,Unit=None', '--client-token', 'cli-trap', '--endpoint-url', emulator.url, '--region', 'us-east-1'],
      env(),
    );
    expect(trap.code).toBe(254);
    expect(trap.stderr).toContain('An error occurred (NoEntitlementsAllowedException) when calling the CheckoutLicense operation');
  });

  it('get-license and list-received-licenses show the license as the model has it', async () => {
    emulator.putLicense(seats(3, { licenseArn: ARN, productName: 'Scanner', status: 'SUSPENDED' }));
    const got = await aws(['get-license', '--license-arn', ARN]);
    expect(got.stderr).toBe('');
    expect(JSON.parse(got.stdout).License).toMatchObject({ LicenseArn: ARN, ProductName: 'Scanner', Status: 'SUSPENDED', Version: '1', Entitlements: [{ Name: 'Users', MaxCount: 3, Unit: 'Count' }] });
    const listed = await aws(['list-received-licenses', '--filters', 'Name=Status,Values=SUSPENDED']);
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout).Licenses.map((l: { LicenseArn: string }) => l.LicenseArn)).toEqual([ARN]);
    const unknown = await aws(['get-license', '--license-arn', `${ARN.slice(0, -3)}def`]);
    expect(unknown.code).toBe(254);
    expect(unknown.stderr).toContain('An error occurred (InvalidParameterValueException) when calling the GetLicense operation');
  });

  it('reports RedirectException, AuthorizationException, ValidationException and RateLimitExceededException by name', async () => {
    emulator.putLicense(seats(1, { homeRegion: 'eu-west-1' }));
    const redirect = await aws(checkoutArgs('Name=Users,Value=1,Unit=Count', 'cli-redirect'));
    expect(redirect.code).toBe(254);
    expect(redirect.stderr).toContain(failed('RedirectException', 'CheckoutLicense', "This is not the correct Region for the resource. Try again. The license's home region is eu-west-1."));

    emulator.setScenario({ authorizationErrors: { [CRED.accessKeyId]: 'AuthorizationException' } });
    const denied = await aws(['list-received-licenses']);
    expect(denied.code).toBe(254);
    expect(denied.stderr).toContain(failed('AuthorizationException', 'ListReceivedLicenses', `User: arn:aws:iam::${CRED.accountId}:user/${CRED.accessKeyId} is not authorized to perform: license-manager:ListReceivedLicenses`));
    emulator.setScenario({ authorizationErrors: {}, throttle: 1 });
    const throttled = await aws(['list-received-licenses']);
    expect(throttled.code).toBe(254);
    expect(throttled.stderr).toContain(failed('RateLimitExceededException', 'ListReceivedLicenses', 'Rate exceeded'));

    const invalid = await aws(checkoutArgs('Name=Users,Value=1,Unit=Count', 'has space'));
    expect(invalid.code).toBe(254);
    expect(invalid.stderr).toContain(failed('ValidationException', 'CheckoutLicense', "1 validation error detected: Value 'has space' at 'clientToken'"));
  });

  const BOTO3 = `
import json, sys, uuid
import boto3
lm = boto3.client('license-manager', endpoint_url=sys.argv[1], region_name='us-east-1')
sku, fp, arn = sys.argv[2], sys.argv[3], sys.argv[4]
out = {}
def err(e):
    return {'code': e.response['Error']['Code'], 'status': e.response['ResponseMetadata']['HTTPStatusCode'], 'message': e.response['Error']['Message'], 'location': e.response.get('Location')}
users = [{'Name': 'Users', 'Value': '1', 'Unit': 'Count'}]
r = lm.checkout_license(ProductSKU=sku, CheckoutType='PROVISIONAL', KeyFingerprint=fp, Entitlements=users, ClientToken=str(uuid.uuid4()))
out['checkout'] = {k: r[k] for k in ('CheckoutType', 'EntitlementsAllowed', 'LicenseArn')}
token = r['LicenseConsumptionToken']
try:
    lm.checkout_license(ProductSKU=sku, CheckoutType='PROVISIONAL', KeyFingerprint=fp, Entitlements=users, ClientToken=str(uuid.uuid4()))
except lm.exceptions.NoEntitlementsAllowedException as e:
    out['full'] = err(e)
out['extend'] = sorted(lm.extend_license_consumption(LicenseConsumptionToken=token).keys())
lm.check_in_license(LicenseConsumptionToken=token)
try:
    lm.check_in_license(LicenseConsumptionToken=token)
except lm.exceptions.ResourceNotFoundException as e:
    out['twice'] = err(e)
out['get'] = lm.get_license(LicenseArn=arn)['License']['Status']
out['list'] = [l['LicenseArn'] for l in lm.list_received_licenses(MaxResults=10)['Licenses']]
try:
    lm.checkout_license(ProductSKU='far-away', CheckoutType='PROVISIONAL', KeyFingerprint=fp, Entitlements=users, ClientToken=str(uuid.uuid4()))
except lm.exceptions.RedirectException as e:
    out['redirect'] = err(e)
try:
    lm.checkout_license(ProductSKU=sku, CheckoutType='PROVISIONAL', KeyFingerprint='aws:111122223333:Me:issuer-fingerprint', Entitlements=users, ClientToken=str(uuid.uuid4()))
except lm.exceptions.NoEntitlementsAllowedException as e:
    out['foreign'] = err(e)['code']
print(json.dumps(out))
`;

  it('boto3 raises the modelled exceptions for every operation, RedirectException with its Location', async () => {
    emulator.putLicense(seats(1, { licenseArn: ARN }));
    emulator.putLicense(seats(1, { productSku: 'far-away', homeRegion: 'ap-northeast-1' }));
    const { code, stdout, stderr } = await runProcess(AWS_PYTHON, ['-c', BOTO3, emulator.url, SKU, FINGERPRINT, ARN], env());
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const out = JSON.parse(stdout) as Record<string, unknown>;
    expect(out).toEqual({
      checkout: { CheckoutType: 'PROVISIONAL', EntitlementsAllowed: [{ Name: 'Users', Value: '1', Unit: 'Count' }], LicenseArn: ARN },
      full: { code: 'NoEntitlementsAllowedException', status: 400, message: 'No Entitlements Allowed. Entitlement Users: 0 of 1 Count left (1 in use, 0 consumed), 1 asked.', location: null },
      extend: ['Expiration', 'LicenseConsumptionToken', 'ResponseMetadata'],
      twice: { code: 'ResourceNotFoundException', status: 400, message: 'The resource cannot be found. This license consumption was checked in.', location: null },
      get: 'AVAILABLE',
      list: [ARN, expect.stringMatching(/^arn:aws:license-manager::294406891311:license:l-[0-9a-f]{32}$/)],
      redirect: { code: 'RedirectException', status: 308, message: "This is not the correct Region for the resource. Try again. The license's home region is ap-northeast-1.", location: 'ap-northeast-1' },
      foreign: 'NoEntitlementsAllowedException',
    });
  });
});
