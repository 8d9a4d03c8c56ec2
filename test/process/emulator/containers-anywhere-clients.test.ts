/**
 * Containers Anywhere against AWS's own clients: Debian's AWS CLI v2 and boto3 run the chain a
 * product off AWS runs (GetAccessToken unsigned, STS AssumeRoleWithWebIdentity unsigned over the
 * Query protocol, then License Manager signed with the temporary credentials), and read STS's XML
 * errors by their codes. No AWS credentials at all in their environment for the first two steps:
 * what works, works unsigned. They sign with the machine's clock, so the emulator runs on
 * realClock(); the expiry of each link is tested with the injected clock in the integration tests.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AWS_CLI, AWS_PYTHON, awsClientEnv, realClock, runProcess, startTestEmulator } from '../../helpers/emulator-requests.js';
import type { TestEmulator } from '../../helpers/emulator-requests.js';
import { ANYWHERE_ACCOUNT, CONSUMPTION_ROLE, consumptionRole, FINGERPRINT, seats, SKU } from '../../helpers/license-manager.js';


describe('AWS CLI v2 and boto3 run the Containers Anywhere chain', () => {
  let emulator: TestEmulator;
  let home: string;
  beforeAll(async () => {
    emulator = await startTestEmulator({ clock: realClock(), roles: [consumptionRole()], scenario: { licenseManagerRateLimit: null } });
    home = await mkdtemp(join(tmpdir(), 'emulator-aws-home-'));
  });
  afterAll(async () => {
    await emulator.close();
    await rm(home, { recursive: true, force: true });
  });
  beforeEach(() => {
    emulator.reset();
    emulator.putLicense(seats(1, { beneficiaryAccountId: ANYWHERE_ACCOUNT }));
  });

  /** No credentials anywhere but those given: no variables, no files, no instance metadata. */
  const env = (credentials: Record<string, string> = {}): NodeJS.ProcessEnv => awsClientEnv(home, credentials);
  const aws = (args: string[], credentials?: Record<string, string>) => runProcess(AWS_CLI, [...args, '--endpoint-url', emulator.url, '--region', 'us-east-1', '--output', 'json'], env(credentials));
  const licenseToken = () => emulator.issueLicenseToken({ accountId: ANYWHERE_ACCOUNT, roleArn: CONSUMPTION_ROLE }).licenseToken;
  const failed = (code: string, operation: string) => `An error occurred (${code}) when calling the ${operation} operation (reached max retries: 0): `;

  it('get-access-token --no-sign-request, assume-role-with-web-identity, then checkout-license with the role\'s credentials', async () => {
    const access = await aws(['license-manager', 'get-access-token', '--token', licenseToken(), '--no-sign-request']);
    expect(access.stderr).toBe('');
    expect(access.code).toBe(0);
    expect(emulator.calls().at(-1)).toMatchObject({ operation: 'GetAccessToken', outcome: 'success', caller: null, signedHeaders: [] });
    const { AccessToken } = JSON.parse(access.stdout) as { AccessToken: string };

    const assumed = await aws(['sts', 'assume-role-with-web-identity', '--role-arn', CONSUMPTION_ROLE, '--role-session-name', 'cli-node', '--web-identity-token', AccessToken]);
    expect(assumed.stderr).toBe('');
    expect(assumed.code).toBe(0);
    expect(emulator.calls().at(-1)).toMatchObject({ operation: 'AssumeRoleWithWebIdentity', outcome: 'success', caller: null });
    const out = JSON.parse(assumed.stdout) as { Credentials: Record<string, string>; AssumedRoleUser: Record<string, string> };
    expect(out.AssumedRoleUser['Arn']).toBe(`arn:aws:sts::${ANYWHERE_ACCOUNT}:assumed-role/AWSLicenseManagerConsumptionRole/cli-node`);
    expect(Date.parse(out.Credentials['Expiration'] ?? '') - Date.now()).toBeGreaterThan(3_500_000);

    const credentials = { AWS_ACCESS_KEY_ID: out.Credentials['AccessKeyId'] ?? '', AWS_SECRET_ACCESS_KEY: out.Credentials['SecretAccessKey'] ?? '', AWS_SESSION_TOKEN: out.Credentials['SessionToken'] ?? '' };
    const checkout = await aws(
      ['license-manager', 'checkout-license', '--product-sku', SKU, '--checkout-type', 'PROVISIONAL', '--key-fingerprint', FINGERPRINT, '--entitlements', 'Name=Users,Value=1,Unit=Count', '--client-token', 'cli-anywhere'],
      credentials,
    );
    expect(checkout.stderr).toBe('');
    expect(checkout.code).toBe(0);
    expect(emulator.consumptions()).toEqual([expect.objectContaining({ accountId: ANYWHERE_ACCOUNT })]);
    expect(emulator.calls().at(-1)?.signedHeaders).toEqual(['content-type', 'host', 'x-amz-date', 'x-amz-security-token', 'x-amz-target']);
    // The same key without its session token is not recognised.
    const bare = await aws(['license-manager', 'list-received-licenses'], { AWS_ACCESS_KEY_ID: credentials.AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: credentials.AWS_SECRET_ACCESS_KEY });
    expect(bare.code).toBe(254);
    expect(bare.stderr).toContain(`${failed('UnrecognizedClientException', 'ListReceivedLicenses')}The security token included in the request is invalid.`);
  });

  it('reads STS\'s XML errors by code: InvalidIdentityToken, AccessDenied, IDPRejectedClaim, ValidationError; GetAccessToken\'s AuthorizationException', async () => {
    const garbage = await aws(['sts', 'assume-role-with-web-identity', '--role-arn', CONSUMPTION_ROLE, '--role-session-name', 'cli', '--web-identity-token', 'not-a-token']);
    expect(garbage.code).toBe(254);
    expect(garbage.stderr).toContain(`${failed('InvalidIdentityToken', 'AssumeRoleWithWebIdentity')}The web identity token that was passed could not be validated`);

    const license = licenseToken();
    const { AccessToken } = JSON.parse((await aws(['license-manager', 'get-access-token', '--token', license, '--no-sign-request'])).stdout) as { AccessToken: string };
    const denied = await aws(['sts', 'assume-role-with-web-identity', '--role-arn', `arn:aws:iam::${ANYWHERE_ACCOUNT}:role/Other`, '--role-session-name', 'cli', '--web-identity-token', AccessToken]);
    expect(denied.code).toBe(254);
    expect(denied.stderr).toContain(`${failed('AccessDenied', 'AssumeRoleWithWebIdentity')}Not authorized to perform sts:AssumeRoleWithWebIdentity`);
    const invalid = await aws(['sts', 'assume-role-with-web-identity', '--role-arn', CONSUMPTION_ROLE, '--role-session-name', 'has space', '--web-identity-token', AccessToken]);
    expect(invalid.code).toBe(254);
    expect(invalid.stderr).toContain(`${failed('ValidationError', 'AssumeRoleWithWebIdentity')}1 validation error detected: Value 'has space' at 'roleSessionName'`);

    emulator.revokeLicenseToken(license);
    const rejected = await aws(['sts', 'assume-role-with-web-identity', '--role-arn', CONSUMPTION_ROLE, '--role-session-name', 'cli', '--web-identity-token', AccessToken]);
    expect(rejected.code).toBe(254);
    expect(rejected.stderr).toContain(failed('IDPRejectedClaim', 'AssumeRoleWithWebIdentity'));
    const revoked = await aws(['license-manager', 'get-access-token', '--token', license, '--no-sign-request']);
    expect(revoked.code).toBe(254);
    expect(revoked.stderr).toContain(`${failed('AuthorizationException', 'GetAccessToken')}The license token has been deleted (revoked).`);
  });

  const BOTO3 = `
import json, sys
import boto3
from botocore import UNSIGNED
from botocore.config import Config
url, token, role, sku, fp, other_role = sys.argv[1:7]
lm = boto3.client('license-manager', endpoint_url=url, region_name='us-east-1', config=Config(signature_version=UNSIGNED))
sts = boto3.client('sts', endpoint_url=url, region_name='us-east-1')
out = {}
access = lm.get_access_token(Token=token)['AccessToken']
r = sts.assume_role_with_web_identity(RoleArn=role, RoleSessionName='boto-node', WebIdentityToken=access)
c = r['Credentials']
out['expiration_type'] = type(c['Expiration']).__name__
out['role'] = r['AssumedRoleUser']['Arn']
signed = boto3.client('license-manager', endpoint_url=url, region_name='us-east-1',
    aws_access_key_id=c['AccessKeyId'], aws_secret_access_key=c['SecretAccessKey'], aws_session_token=c['SessionToken'])
out['checkout'] = signed.checkout_license(ProductSKU=sku, CheckoutType='PROVISIONAL', KeyFingerprint=fp,
    Entitlements=[{'Name': 'Users', 'Value': '1', 'Unit': 'Count'}], ClientToken='boto-anywhere')['EntitlementsAllowed']
try:
    sts.assume_role_with_web_identity(RoleArn=role, RoleSessionName='boto', WebIdentityToken='not-a-token')
except sts.exceptions.InvalidIdentityTokenException as e:
    out['invalid'] = [e.response['Error']['Code'], e.response['Error']['Type'], e.response['ResponseMetadata']['HTTPStatusCode']]
try:
    sts.assume_role_with_web_identity(RoleArn=other_role, RoleSessionName='boto', WebIdentityToken=access)
except sts.exceptions.ClientError as e:
    out['denied'] = [e.response['Error']['Code'], e.response['ResponseMetadata']['HTTPStatusCode']]
try:
    lm.get_access_token(Token='x' + token)
except lm.exceptions.AuthorizationException as e:
    out['forged'] = e.response['Error']['Code']
print(json.dumps(out))
`;

  it('boto3: an unsigned get_access_token, assume_role_with_web_identity and a checkout with the credentials; modelled exceptions', async () => {
    const { code, stdout, stderr } = await runProcess(AWS_PYTHON, ['-c', BOTO3, emulator.url, licenseToken(), CONSUMPTION_ROLE, SKU, FINGERPRINT, `arn:aws:iam::${ANYWHERE_ACCOUNT}:role/Other`], env());
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual({
      expiration_type: 'datetime',
      role: `arn:aws:sts::${ANYWHERE_ACCOUNT}:assumed-role/AWSLicenseManagerConsumptionRole/boto-node`,
      checkout: [{ Name: 'Users', Value: '1', Unit: 'Count' }],
      invalid: ['InvalidIdentityToken', 'Sender', 400],
      denied: ['AccessDenied', 403],
      forged: 'AuthorizationException',
    });
  });
});
