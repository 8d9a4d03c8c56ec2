/**
 * The license token chain outside AWS (Containers Anywhere), against the emulator's License Manager
 * and STS over real HTTP: GetAccessToken (anonymous) and AssumeRoleWithWebIdentity (unsigned) through
 * the real SDK code the sidecar ships, on one stepped clock shared with the emulator.
 */
import { GetLicenseCommand, ListReceivedLicensesCommand } from '@aws-sdk/client-license-manager';
import { describe, expect, it } from 'vitest';
import { AnywhereCredentialsError, licenseTokenCredentials, licenseTokenMounted } from '../../../src/aws/anywhere-credentials.js';
import { classifyError } from '../../../src/aws/errors.js';
import { createLicenseManagerClient } from '../../../src/aws/license-manager.js';
import type { Emulator, RoleSpec } from '../../../src/emulator/index.js';
import { signOnClock, steppedClock, type SteppedClock } from '../../helpers/clock.js';
import { emulator, REGION } from '../../helpers/emulator.js';
import { switchableProxy } from '../../helpers/switchable-proxy.js';
import { mountSecret } from '../../helpers/license-secret.js';

const ACCOUNT = '210987654321';
const ROLE = `arn:aws:iam::${ACCOUNT}:role/AWSLicenseManagerConsumptionRole`;
const role = (o: Partial<RoleSpec> = {}): RoleSpec => ({ roleArn: ROLE, trustsLicenseManager: true, issuerAccountId: ACCOUNT, ...o });
const MINUTE = 60_000;

async function setup(o: { roles?: RoleSpec[]; accessTokenTtlSeconds?: number; stsCredentialsTtlSeconds?: number } = {}) {
  const clock = steppedClock();
  const emu = await emulator({}, { now: clock.date, roles: o.roles ?? [role()], ...o });
  const env = { AWS_ENDPOINT_URL_LICENSE_MANAGER: emu.url, AWS_ENDPOINT_URL_STS: emu.url };
  return { clock, emu, env };
}

const issue = (emu: Emulator, roleArn = ROLE) => emu.issueLicenseToken({ accountId: ACCOUNT, roleArn });

function provider(dir: string, env: NodeJS.ProcessEnv, clock: SteppedClock) {
  return licenseTokenCredentials({ dir, region: REGION, env, now: clock.now, sessionName: 'paid-app-7d9f-x2' });
}

async function failure(p: Promise<unknown>): Promise<{ outcome: string; message: string }> {
  try {
    await p;
  } catch (err) {
    if (err instanceof AnywhereCredentialsError) return { outcome: err.outcome, message: err.message };
    throw err;
  }
  throw new Error('expected a failure');
}

describe('the license token chain', () => {
  it('turns the mounted license token into temporary credentials License Manager accepts', async () => {
    const { clock, emu, env } = await setup();
    const { licenseToken } = issue(emu);
    const dir = mountSecret({ license_token: licenseToken, iam_role: ROLE });
    expect(licenseTokenMounted(dir)).toBe(true);
    const credentials = provider(dir, env, clock);
    const c = await credentials();
    expect(c.accessKeyId).toMatch(/^ASIA/);
    expect(c.sessionToken).toBeTruthy();
    expect(c.expiration?.getTime()).toBeGreaterThan(clock.now());
    // The credentials sign a real License Manager call of the sidecar's own client.
    const lm = signOnClock(createLicenseManagerClient(REGION, env, credentials), clock.date);
    await expect(lm.send(new ListReceivedLicensesCommand({}))).resolves.toMatchObject({ Licenses: [] });
    // Cached until shortly before they expire: the same keys, no second exchange.
    expect(await credentials()).toBe(c);
  });

  it('fetches fresh credentials before the old ones expire, reading the Secret again', async () => {
    const { clock, emu, env } = await setup({ stsCredentialsTtlSeconds: 900, accessTokenTtlSeconds: 900 });
    const dir = mountSecret({ license_token: issue(emu).licenseToken, iam_role: ROLE });
    const credentials = provider(dir, env, clock);
    const first = await credentials();
    clock.advance(9 * MINUTE);
    expect(await credentials()).toBe(first);
    // Within 5 minutes of the expiration: a new exchange, new keys, valid past the old expiration.
    clock.advance(2 * MINUTE);
    const second = await credentials();
    expect(second.accessKeyId).not.toBe(first.accessKeyId);
    expect(second.expiration?.getTime()).toBeGreaterThan(first.expiration?.getTime() as number);
    clock.advance(10 * MINUTE);
    const lm = signOnClock(createLicenseManagerClient(REGION, env, credentials), clock.date);
    await expect(lm.send(new ListReceivedLicensesCommand({}))).resolves.toBeDefined();
  });

  it('STS unreachable at a refresh: the still-valid credentials stay in use; once expired, a transient failure; back, fresh ones', async () => {
    const { clock, emu, env } = await setup({ stsCredentialsTtlSeconds: 900 });
    const sts = await switchableProxy(emu.url);
    const credentials = provider(mountSecret({ license_token: issue(emu).licenseToken, iam_role: ROLE }), { ...env, AWS_ENDPOINT_URL_STS: sts.url }, clock);
    const first = await credentials();
    await sts.down();
    clock.advance(11 * MINUTE);
    expect(await credentials()).toBe(first);
    clock.advance(5 * MINUTE);
    const err = await credentials().catch((e: unknown) => e);
    expect(classifyError(err)).toMatchObject({ code: 'NETWORK_ERROR' });
    await sts.up();
    const again = await credentials();
    expect(again.accessKeyId).not.toBe(first.accessKeyId);
  });

  it.each([
    ['no Secret files', {}, /license_token cannot be read \(ENOENT\)/],
    ['no role file', { license_token: 'a.b.c' }, /iam_role cannot be read \(ENOENT\)/],
    ['a token that is no JWT', { license_token: 'not a token', iam_role: ROLE }, /does not hold a license token/],
    ['a role that is no ARN', { license_token: 'a.b.c', iam_role: 'AWSLicenseManagerConsumptionRole' }, /does not hold an IAM role ARN/],
  ])('%s: LICENSE_TOKEN_UNREADABLE, naming the file', async (_name, files, message) => {
    const { clock, env } = await setup();
    const f = await failure(provider(mountSecret(files), env, clock)());
    expect(f.outcome).toBe('LICENSE_TOKEN_UNREADABLE');
    expect(f.message).toMatch(message);
  });

  it('a revoked license token: LICENSE_TOKEN_REJECTED from GetAccessToken, and the token in no message', async () => {
    const { clock, emu, env } = await setup();
    const { licenseToken } = issue(emu);
    emu.revokeLicenseToken(licenseToken);
    const f = await failure(provider(mountSecret({ license_token: licenseToken, iam_role: ROLE }), env, clock)());
    expect(f).toMatchObject({ outcome: 'LICENSE_TOKEN_REJECTED' });
    expect(f.message).toMatch(/GetAccessToken refused the license token/);
    expect(f.message).not.toContain(licenseToken);
    expect(f.message).not.toContain(licenseToken.split('.')[1]);
  });

  it('a token revoked after its access token was issued: STS refuses it (LICENSE_TOKEN_REJECTED) at the next refresh', async () => {
    const { clock, emu, env } = await setup({ stsCredentialsTtlSeconds: 900 });
    const { licenseToken } = issue(emu);
    const credentials = provider(mountSecret({ license_token: licenseToken, iam_role: ROLE }), env, clock);
    await credentials();
    emu.revokeLicenseToken(licenseToken);
    clock.advance(11 * MINUTE);
    expect((await failure(credentials())).outcome).toBe('LICENSE_TOKEN_REJECTED');
  });

  it('a role that does not trust openid-license-manager.amazonaws.com: LICENSE_ROLE_REJECTED, naming the role', async () => {
    const { clock, emu, env } = await setup({ roles: [role({ trustsLicenseManager: false })] });
    const f = await failure(provider(mountSecret({ license_token: issue(emu).licenseToken, iam_role: ROLE }), env, clock)());
    expect(f.outcome).toBe('LICENSE_ROLE_REJECTED');
    expect(f.message).toContain(ROLE);
  });

  it('the classifier turns each failure into its outcome, and STS unreachable into a transient NETWORK_ERROR', async () => {
    const { clock, emu, env } = await setup();
    const dir = mountSecret({ license_token: issue(emu).licenseToken, iam_role: ROLE });
    const unreachable = provider(dir, { ...env, AWS_ENDPOINT_URL_STS: 'http://127.0.0.1:1' }, clock);
    const err = await unreachable().catch((e: unknown) => e);
    expect(classifyError(err)).toMatchObject({ code: 'NETWORK_ERROR' });
    const lm = createLicenseManagerClient(REGION, env, provider(mountSecret({}), env, clock));
    const viaCall = await lm.send(new GetLicenseCommand({ LicenseArn: 'arn:aws:license-manager::294406891311:license:l-0' })).catch((e: unknown) => e);
    expect(classifyError(viaCall, 'license-manager')).toMatchObject({ code: 'LICENSE_TOKEN_UNREADABLE', delivery: 'not-sent' });
  });
});
