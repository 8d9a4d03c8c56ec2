import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CheckoutLicenseCommand, GetAccessTokenCommand, LicenseManagerClient } from '@aws-sdk/client-license-manager';
import { AssumeRoleWithWebIdentityCommand, ExpiredTokenException, IDPRejectedClaimException, InvalidIdentityTokenException, STSClient } from '@aws-sdk/client-sts';
import { decodeJwt } from 'jose';
import { signOnClock } from '../../helpers/clock.js';
import { CRED, JSON_TYPE, manualClock, QUIET, rawRequest, rejection, signedRequest, startTestEmulator } from '../../helpers/emulator-requests.js';
import type { TestEmulator } from '../../helpers/emulator-requests.js';
import {
  ANYWHERE_ACCOUNT, anonymousLicenseClient, anywhereCredentials, checkout, CONSUMPTION_ROLE, consumptionRole, licenseClient, ONE_USER, seats, sessionLicenseClient, stsClient,
} from '../../helpers/license-manager.js';

const MINUTE = 60_000;

describe('Containers Anywhere: GetAccessToken, AssumeRoleWithWebIdentity, then License Manager with the role\'s credentials (SDK v3)', () => {
  let emulator: TestEmulator;
  const clock = manualClock(QUIET);
  beforeAll(async () => {
    emulator = await startTestEmulator({
      clock,
      licenses: [seats(2, { beneficiaryAccountId: ANYWHERE_ACCOUNT })],
      roles: [consumptionRole()],
      // Short lifetimes, as a test configures them.
      licenseManager: { accessTokenTtlSeconds: 300 },
      sts: { credentialsTtlSeconds: 120 },
      scenario: { licenseManagerRateLimit: null },
    });
  });
  afterAll(() => emulator.close());
  beforeEach(() => {
    emulator.reset();
    emulator.setScenario({ throttle: 0, internalError: 0, faultOperations: null });
    clock.set(QUIET);
  });
  const licenseToken = (o: { expiresInSeconds?: number; tokenProperties?: string[] } = {}) => emulator.issueLicenseToken({ accountId: ANYWHERE_ACCOUNT, roleArn: CONSUMPTION_ROLE, ...o }).licenseToken;
  const assume = (WebIdentityToken: string | undefined, o: { RoleArn?: string; DurationSeconds?: number; RoleSessionName?: string } = {}) =>
    stsClient(emulator).send(new AssumeRoleWithWebIdentityCommand({ RoleArn: CONSUMPTION_ROLE, RoleSessionName: 'pod-1', WebIdentityToken, ...o }));
  const accessToken = async (token: string): Promise<string> => (await anonymousLicenseClient(emulator).send(new GetAccessTokenCommand({ Token: token }))).AccessToken ?? '';

  it('the whole chain: the role\'s credentials check out the account\'s license', async () => {
    const credentials = await anywhereCredentials(emulator, licenseToken());
    expect(credentials.AccessKeyId).toMatch(/^ASIA[A-Z2-7]{16}$/);
    expect(credentials.Expiration).toEqual(new Date('2027-06-15T12:17:00.000Z'));
    const client = sessionLicenseClient(emulator, credentials);
    const out = await checkout(client, ONE_USER);
    expect(out.EntitlementsAllowed).toEqual(ONE_USER);
    expect(emulator.consumptions()).toEqual([expect.objectContaining({ accountId: ANYWHERE_ACCOUNT, licenseArn: out.LicenseArn })]);
    // The credentials sign with their session token, which the emulator required.
    expect(emulator.calls().at(-1)?.signedHeaders).toContain('x-amz-security-token');
  });

  it('GetAccessToken goes unsigned (no Authorization at all); every other operation still needs a signature', async () => {
    const token = await accessToken(licenseToken());
    expect(emulator.calls().at(-1)).toMatchObject({ operation: 'GetAccessToken', outcome: 'success', caller: null, signedHeaders: [] });
    expect(decodeJwt(token)).toMatchObject({
      iss: 'https://openid-license-manager.amazonaws.com',
      aud: 'openid-license-manager.amazonaws.com',
      amr: [`aws:license-manager:token-issuer-account-id:${ANYWHERE_ACCOUNT}`],
      iat: Date.parse(QUIET) / 1000,
      exp: Date.parse(QUIET) / 1000 + 300,
    });
    const unsigned = await rejection(anonymousLicenseClient(emulator).send(new CheckoutLicenseCommand({ ProductSKU: 's', CheckoutType: 'PROVISIONAL', KeyFingerprint: 'f', Entitlements: ONE_USER, ClientToken: 't' })));
    expect(unsigned.name).toBe('MissingAuthenticationTokenException');
    // A client that "signs anonymously" with an empty key sends a signature, and that is checked.
    const emptyKey = new LicenseManagerClient({ endpoint: emulator.url, region: 'us-east-1', maxAttempts: 1, credentials: { accessKeyId: '', secretAccessKey: '' } });
    expect((await rejection(emptyKey.send(new GetAccessTokenCommand({ Token: licenseToken() })))).name).toBe('UnrecognizedClientException');
    // A signed GetAccessToken is verified like any other call.
    expect((await licenseClient(emulator).send(new GetAccessTokenCommand({ Token: licenseToken() }))).AccessToken).toBeTruthy();
  });

  it('GetAccessToken refuses a token it did not issue, an expired one and a revoked one with AuthorizationException (403)', async () => {
    const client = anonymousLicenseClient(emulator);
    const forged = await rejection(client.send(new GetAccessTokenCommand({ Token: `${licenseToken().slice(0, -4)}AAAA` })));
    expect(forged.name).toBe('AuthorizationException');
    expect(forged.$metadata?.httpStatusCode).toBe(403);
    expect(forged.message).toBe('The token is not a license token License Manager issued, or lacks the TokenProperties asked for.');

    const shortLived = licenseToken({ expiresInSeconds: 600 });
    clock.advance(10 * MINUTE - 1);
    await accessToken(shortLived);
    clock.advance(1);
    expect((await rejection(client.send(new GetAccessTokenCommand({ Token: shortLived })))).message).toBe('The license token has expired.');

    const revoked = licenseToken();
    emulator.revokeLicenseToken(revoked);
    expect((await rejection(client.send(new GetAccessTokenCommand({ Token: revoked })))).message).toBe('The license token has been deleted (revoked).');
    expect(() => emulator.revokeLicenseToken('not-a-token')).toThrow('revokeLicenseToken: licenseToken is not a license token this emulator issued');
  });

  it('GetAccessToken checks TokenProperties against the token\'s, and validates its input', async () => {
    const token = licenseToken({ tokenProperties: ['cluster-a', 'gold'] });
    const client = anonymousLicenseClient(emulator);
    expect(decodeJwt((await client.send(new GetAccessTokenCommand({ Token: token, TokenProperties: ['gold'] }))).AccessToken ?? '').amr).toEqual([
      `aws:license-manager:token-issuer-account-id:${ANYWHERE_ACCOUNT}`, 'cluster-a', 'gold',
    ]);
    expect((await rejection(client.send(new GetAccessTokenCommand({ Token: token, TokenProperties: ['platinum'] })))).name).toBe('AuthorizationException');
    const invalid = await rejection(client.send(new GetAccessTokenCommand({ Token: 'has space', TokenProperties: ['a', 'b', 'c', 'd'] })));
    expect(invalid.name).toBe('ValidationException');
    expect(invalid.message).toMatch(/^2 validation errors detected: Value 'has space' at 'token' failed to satisfy constraint: Member must satisfy regular expression pattern: \\S\+; Value '\["a","b","c","d"\]' at 'tokenProperties' failed to satisfy constraint: Member must have length less than or equal to 3$/);
  });

  it('AssumeRoleWithWebIdentity answers STS\'s XML: the role, the subject, credentials that expire', async () => {
    const out = await assume(await accessToken(licenseToken()), { RoleSessionName: 'node-7' });
    expect(out.AssumedRoleUser).toEqual({ Arn: `arn:aws:sts::${ANYWHERE_ACCOUNT}:assumed-role/AWSLicenseManagerConsumptionRole/node-7`, AssumedRoleId: expect.stringMatching(/^AROA[A-Z2-7]{17}:node-7$/) });
    expect(out.SubjectFromWebIdentityToken).toMatch(new RegExp(`^${ANYWHERE_ACCOUNT}:[0-9a-f-]{36}$`));
    expect(out).toMatchObject({ Provider: 'openid-license-manager.amazonaws.com', Audience: 'openid-license-manager.amazonaws.com' });
    expect(out.Credentials).toEqual({ AccessKeyId: expect.any(String), SecretAccessKey: expect.stringMatching(/^[A-Za-z0-9+/]{40}$/), SessionToken: expect.any(String), Expiration: new Date('2027-06-15T12:17:00Z') });
    // DurationSeconds, when given, is the lifetime (up to the role's MaxSessionDuration, 3600 here).
    expect((await assume(await accessToken(licenseToken()), { DurationSeconds: 900 })).Credentials?.Expiration).toEqual(new Date('2027-06-15T12:30:00Z'));
    const tooLong = await rejection(assume(await accessToken(licenseToken()), { DurationSeconds: 7200 }));
    expect(tooLong.name).toBe('ValidationError');
    expect(tooLong.message).toBe('The requested DurationSeconds exceeds the MaxSessionDuration set for this role.');
  });

  it('an access token works until its exp, then STS answers ExpiredTokenException with STS\'s words', async () => {
    const token = await accessToken(licenseToken());
    clock.advance(5 * MINUTE - 1);
    await assume(token);
    clock.advance(1);
    const err = await rejection(assume(token));
    expect(err).toBeInstanceOf(ExpiredTokenException);
    expect(err.$metadata?.httpStatusCode).toBe(400);
    const now = Date.parse(QUIET) / 1000 + 300;
    expect(err.message).toBe(`Token expired: current date/time ${now} must be before the expiration date/time ${now}`);
  });

  it('STS refuses a token that is not an access token (InvalidIdentityToken), and one whose license token was revoked (IDPRejectedClaim, 403)', async () => {
    const license = licenseToken();
    const garbage = await rejection(assume('not-a-token-at-all'));
    expect(garbage).toBeInstanceOf(InvalidIdentityTokenException);
    expect(garbage.message).toBe('The web identity token that was passed could not be validated by Amazon Web Services. Get a new identity token from the identity provider and then retry the request.');
    // The license token itself is no web identity token.
    expect((await rejection(assume(license))).name).toBe('InvalidIdentityTokenException');

    const token = await accessToken(license);
    const { Credentials: credentials } = await assume(token);
    if (credentials === undefined) throw new Error('no Credentials in the answer');
    emulator.revokeLicenseToken(license);
    const revoked = await rejection(assume(token));
    expect(revoked).toBeInstanceOf(IDPRejectedClaimException);
    expect(revoked.$metadata?.httpStatusCode).toBe(403);
    // Credentials STS issued before the revocation live on until they expire, as on AWS.
    expect((await checkout(sessionLicenseClient(emulator, credentials), ONE_USER)).EntitlementsAllowed).toEqual(ONE_USER);
  });

  it.each([
    ['a role the emulator does not know', {}, `arn:aws:iam::${ANYWHERE_ACCOUNT}:role/Unknown`, `the emulator knows no role arn:aws:iam::${ANYWHERE_ACCOUNT}:role/Unknown`],
    ['a role that does not trust License Manager', { trustsLicenseManager: false }, CONSUMPTION_ROLE, 'the role does not trust openid-license-manager.amazonaws.com'],
    ['a role trusting another issuer account', { issuerAccountId: '999988887777' }, CONSUMPTION_ROLE, `the role trusts license tokens issued by account 999988887777, not ${ANYWHERE_ACCOUNT}`],
  ])('%s: AccessDenied (403)', async (_what, role, roleArn, why) => {
    emulator.putRole(consumptionRole(role));
    const err = await rejection(assume(await accessToken(licenseToken()), { RoleArn: roleArn }));
    expect(err.name).toBe('AccessDenied');
    expect(err.$metadata?.httpStatusCode).toBe(403);
    expect(err.message).toBe(`Not authorized to perform sts:AssumeRoleWithWebIdentity (${why})`);
  });

  it('STS validates its input as its model says: ValidationError naming every broken constraint', async () => {
    const err = await rejection(assume('abc', { RoleArn: 'arn:aws:iam::1:role', RoleSessionName: 'has space', DurationSeconds: 60 }));
    expect(err.name).toBe('ValidationError');
    expect(err.message).toBe(
      "4 validation errors detected: Value 'arn:aws:iam::1:role' at 'roleArn' failed to satisfy constraint: Member must have length greater than or equal to 20; " +
        "Value 'has space' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*; " +
        "Value 'abc' at 'webIdentityToken' failed to satisfy constraint: Member must have length greater than or equal to 4; " +
        "Value '60' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900",
    );
  });

  it('the role\'s credentials: valid until their Expiration by the emulator\'s clock, then ExpiredTokenException (403)', async () => {
    const credentials = await anywhereCredentials(emulator, licenseToken());
    const client = sessionLicenseClient(emulator, credentials);
    clock.advance(2 * MINUTE - 1);
    await checkout(client, ONE_USER);
    clock.advance(1);
    const err = await rejection(checkout(client, ONE_USER));
    expect(err.name).toBe('ExpiredTokenException');
    expect(err.$metadata?.httpStatusCode).toBe(403);
    expect(err.message).toBe('The security token included in the request is expired');
  });

  it('the role\'s credentials need their own session token: none, or another, is UnrecognizedClientException', async () => {
    const credentials = await anywhereCredentials(emulator, licenseToken());
    const key = { accessKeyId: credentials.AccessKeyId ?? '', secretAccessKey: credentials.SecretAccessKey ?? '', accountId: ANYWHERE_ACCOUNT };
    const without = await rejection(checkout(licenseClient(emulator, { credential: key }), ONE_USER));
    expect(without.name).toBe('UnrecognizedClientException');
    expect(without.message).toBe('The security token included in the request is invalid.');
    const other = await anywhereCredentials(emulator, licenseToken());
    expect((await rejection(checkout(licenseClient(emulator, { credential: key, sessionToken: other.SessionToken ?? '' }), ONE_USER))).name).toBe('UnrecognizedClientException');
  });

  it('faults aim at GetAccessToken and AssumeRoleWithWebIdentity like any operation: Throttling and InternalFailure in STS\'s XML', async () => {
    const token = await accessToken(licenseToken());
    emulator.setScenario({ throttle: 1, internalError: 1, faultOperations: ['AssumeRoleWithWebIdentity'] });
    const throttled = await rejection(assume(token));
    expect(throttled.name).toBe('Throttling');
    expect(throttled.$metadata?.httpStatusCode).toBe(400);
    const fault = await rejection(assume(token));
    expect(fault.name).toBe('InternalFailure');
    expect(fault.$metadata?.httpStatusCode).toBe(500);
    await assume(token);
    emulator.setScenario({ throttle: 1, faultOperations: ['GetAccessToken'] });
    expect((await rejection(accessToken(licenseToken()))).name).toBe('RateLimitExceededException');
    expect(emulator.state().counts['AssumeRoleWithWebIdentity']).toEqual({ Throttling: 1, InternalFailure: 1, success: 1 });
  });

  it('the STS endpoint speaks AWS Query exactly: XML answers and errors, MissingAction, InvalidAction, SignatureDoesNotMatch', async () => {
    const token = await accessToken(licenseToken());
    const form = (body: string) => rawRequest(emulator.url, { headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, body });
    const ok = await form(`Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=${encodeURIComponent(CONSUMPTION_ROLE)}&RoleSessionName=raw&WebIdentityToken=${token}`);
    expect(ok.status).toBe(200);
    expect(ok.headers['content-type']).toBe('text/xml');
    expect(ok.body).toMatch(
      new RegExp(
        '^<AssumeRoleWithWebIdentityResponse xmlns="https://sts\\.amazonaws\\.com/doc/2011-06-15/">\\n  <AssumeRoleWithWebIdentityResult>\\n' +
          '    <SubjectFromWebIdentityToken>[^<]+</SubjectFromWebIdentityToken>\\n    <Audience>openid-license-manager\\.amazonaws\\.com</Audience>\\n' +
          '    <AssumedRoleUser>\\n      <Arn>arn:aws:sts::210987654321:assumed-role/AWSLicenseManagerConsumptionRole/raw</Arn>\\n      <AssumedRoleId>AROA[A-Z2-7]{17}:raw</AssumedRoleId>\\n    </AssumedRoleUser>\\n' +
          '    <Credentials>\\n      <SessionToken>[^<]+</SessionToken>\\n      <SecretAccessKey>[^<]+</SecretAccessKey>\\n      <Expiration>2027-06-15T12:17:00Z</Expiration>\\n      <AccessKeyId>ASIA[A-Z2-7]{16}</AccessKeyId>\\n    </Credentials>\\n' +
          '    <Provider>openid-license-manager\\.amazonaws\\.com</Provider>\\n  </AssumeRoleWithWebIdentityResult>\\n' +
          '  <ResponseMetadata>\\n    <RequestId>([0-9a-f-]{36})</RequestId>\\n  </ResponseMetadata>\\n</AssumeRoleWithWebIdentityResponse>\\n$',
      ),
    );
    const error = (code: string, message: string, type = 'Sender') =>
      new RegExp(`^<ErrorResponse xmlns="https://sts\\.amazonaws\\.com/doc/2011-06-15/">\\n  <Error>\\n    <Type>${type}</Type>\\n    <Code>${code}</Code>\\n    <Message>${message}</Message>\\n  </Error>\\n  <RequestId>[0-9a-f-]{36}</RequestId>\\n</ErrorResponse>\\n$`);
    const denied = await form(`Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=${encodeURIComponent(`arn:aws:iam::${ANYWHERE_ACCOUNT}:role/Other`)}&RoleSessionName=raw&WebIdentityToken=${token}`);
    expect(denied.status).toBe(403);
    expect(denied.body).toMatch(error('AccessDenied', 'Not authorized to perform sts:AssumeRoleWithWebIdentity \\(the emulator knows no role [^<]+\\)'));
    expect((await form('Version=2011-06-15')).body).toMatch(error('MissingAction', 'Missing Action'));
    const unknown = await form('Action=GetCallerIdentity&Version=2011-06-15');
    expect(unknown.status).toBe(400);
    expect(unknown.body).toMatch(error('InvalidAction', 'Could not find operation GetCallerIdentity for version 2011-06-15'));
    expect((await form(`Action=AssumeRoleWithWebIdentity&RoleArn=x`)).body).toMatch(error('InvalidAction', 'Could not find operation AssumeRoleWithWebIdentity for version NO_VERSION_SPECIFIED'));
    expect((await form('Action=AssumeRoleWithWebIdentity&Version=2011-06-15&DurationSeconds=soon')).body).toMatch(error('ValidationError', "Value 'soon' for parameter DurationSeconds is invalid. It must be an integer."));

    // Signed anyway (allowed), with a wrong secret: STS's name for the signature error.
    const body = `Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=${encodeURIComponent(CONSUMPTION_ROLE)}&RoleSessionName=raw&WebIdentityToken=${token}`;
    const signed = await signedRequest(emulator, { service: 'sts', contentType: 'application/x-www-form-urlencoded; charset=utf-8', body, headers: {}, credential: { ...CRED, secretAccessKey: 'wrong' } });
    expect(signed.status).toBe(403);
    expect(signed.body).toMatch(/<Code>SignatureDoesNotMatch<\/Code>\n    <Message>The request signature we calculated does not match/);
    const good = await signedRequest(emulator, { service: 'sts', contentType: 'application/x-www-form-urlencoded; charset=utf-8', body });
    expect(good.status).toBe(200);
  });

  it('SDK clients find the one endpoint through AWS_ENDPOINT_URL_LICENSE_MANAGER and AWS_ENDPOINT_URL_STS', async () => {
    const saved = { lm: process.env['AWS_ENDPOINT_URL_LICENSE_MANAGER'], sts: process.env['AWS_ENDPOINT_URL_STS'] };
    process.env['AWS_ENDPOINT_URL_LICENSE_MANAGER'] = emulator.url;
    process.env['AWS_ENDPOINT_URL_STS'] = emulator.url;
    try {
      const noAuth = [{ schemeId: 'aws.auth#sigv4', identityProvider: () => async () => ({}), signer: { sign: async <T>(request: T) => request } }];
      const lm = new LicenseManagerClient({ region: 'us-east-1', maxAttempts: 1, httpAuthSchemes: noAuth });
      const { AccessToken } = await signOnClock(lm, () => clock.now()).send(new GetAccessTokenCommand({ Token: licenseToken() }));
      const sts = signOnClock(new STSClient({ region: 'us-east-1', maxAttempts: 1 }), () => clock.now());
      const out = await sts.send(new AssumeRoleWithWebIdentityCommand({ RoleArn: CONSUMPTION_ROLE, RoleSessionName: 'env', WebIdentityToken: AccessToken }));
      expect(out.AssumedRoleUser?.Arn).toMatch(/assumed-role\/AWSLicenseManagerConsumptionRole\/env$/);
    } finally {
      if (saved.lm === undefined) delete process.env['AWS_ENDPOINT_URL_LICENSE_MANAGER'];
      else process.env['AWS_ENDPOINT_URL_LICENSE_MANAGER'] = saved.lm;
      if (saved.sts === undefined) delete process.env['AWS_ENDPOINT_URL_STS'];
      else process.env['AWS_ENDPOINT_URL_STS'] = saved.sts;
    }
  });

  it('the admin endpoints issue and revoke license tokens and put roles', async () => {
    const admin = (method: string, name: string, body: unknown) => rawRequest(emulator.url, { method, path: `/_emulator/${name}`, headers: JSON_TYPE, body: JSON.stringify(body) });
    const issued = await admin('POST', 'license-tokens', { accountId: ANYWHERE_ACCOUNT, roleArn: CONSUMPTION_ROLE, expiresInSeconds: 3600 });
    expect(issued.status).toBe(201);
    expect(issued.json()).toEqual({ licenseToken: expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/), roleArn: CONSUMPTION_ROLE, expiresAt: '2027-06-15T13:15:00.000Z' });
    const { licenseToken: token } = issued.json() as { licenseToken: string };
    expect(decodeJwt(token)).toMatchObject({ iss: 'https://license-manager.amazonaws.com', sub: ANYWHERE_ACCOUNT, roleArns: [CONSUMPTION_ROLE], exp: Date.parse(QUIET) / 1000 + 3600 });
    await anywhereCredentials(emulator, token);
    expect((await admin('POST', 'license-tokens', { accountId: '1', roleArn: 'role' })).json()).toEqual({
      error: 'invalid license token request',
      problems: ['accountId must be a 12-digit AWS account id', 'roleArn must be an IAM role ARN, arn:aws:iam::<12 digits>:role/<name>'],
    });

    expect((await admin('POST', 'license-tokens/revoke', { licenseToken: token })).json()).toEqual({ revoked: true });
    expect((await rejection(accessToken(token))).name).toBe('AuthorizationException');
    expect((await admin('POST', 'license-tokens/revoke', { licenseToken: 'nope' })).status).toBe(404);

    const role = await admin('PUT', 'roles', { roleArn: `arn:aws:iam::${ANYWHERE_ACCOUNT}:role/Second`, trustsLicenseManager: true, issuerAccountId: ANYWHERE_ACCOUNT, maxSessionDurationSeconds: 7200 });
    expect(role.json()).toEqual({ roleArn: `arn:aws:iam::${ANYWHERE_ACCOUNT}:role/Second`, roleId: expect.stringMatching(/^AROA/), trustsLicenseManager: true, issuerAccountId: ANYWHERE_ACCOUNT, maxSessionDurationSeconds: 7200 });
    expect(((await rawRequest(emulator.url, { method: 'GET', path: '/_emulator/roles' })).json()['roles'] as unknown[]).length).toBe(2);
    expect((await admin('PUT', 'roles', { roleArn: 'x', trustsLicenseManager: 'yes', issuerAccountId: ANYWHERE_ACCOUNT, maxSessionDurationSeconds: 60 })).json()['problems']).toEqual([
      'roleArn must be an IAM role ARN, arn:aws:iam::<12 digits>:role/<name>',
      'trustsLicenseManager must be true or false',
      'maxSessionDurationSeconds must be an integer from 3600 to 43200 (IAM\'s range)',
    ]);
    // reset forgets tokens, credentials and roles put since start.
    emulator.reset();
    expect(emulator.roles().map((r) => r.roleArn)).toEqual([CONSUMPTION_ROLE]);
  });
});
