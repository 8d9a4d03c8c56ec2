/**
 * License Manager test plumbing: the real SDK v3 client signing on the emulator's clock, a checkout
 * with AWS Marketplace's fingerprint, and license seeds for the three models (tiers, floating seats,
 * drawdown).
 */
import { randomUUID } from 'node:crypto';
import { CheckoutLicenseCommand, GetAccessTokenCommand, LicenseManagerClient } from '@aws-sdk/client-license-manager';
import { AssumeRoleWithWebIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type { Credentials } from '@aws-sdk/client-sts';
import type { CheckoutLicenseCommandInput, CheckoutLicenseCommandOutput, EntitlementData } from '@aws-sdk/client-license-manager';
import { MARKETPLACE_ISSUER } from '../../src/emulator/index.js';
import type { Emulator, EmulatorCredential, LicenseSeed, RoleSpec } from '../../src/emulator/index.js';
import { signOnClock } from './clock.js';
import { CRED, REGION } from './emulator-requests.js';
import type { Clock } from './emulator-requests.js';

export const FINGERPRINT = MARKETPLACE_ISSUER.keyFingerprint;
/** The default credential's account: the buyer in these tests. */
export const BUYER = CRED.accountId;
export const SKU = '7a1c2b3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
export const OTHER = { accessKeyId: 'AKIAEMULATOROTHER001', secretAccessKey: 'other/secret/access/key/00000000000000001', accountId: '444455556666' } as const satisfies EmulatorCredential;

/**
 * THE License Manager client of the tests: the real client, over real HTTP, retries off, signing on
 * `o.now`, else on the emulator's clock when it has one, else on the machine's.
 */
export function licenseClient(
  emulator: { url: string; clock?: Clock },
  o: { credential?: Pick<EmulatorCredential, 'accessKeyId' | 'secretAccessKey'>; sessionToken?: string; region?: string; now?: () => Date } = {},
): LicenseManagerClient {
  const credential = o.credential ?? CRED;
  const client = new LicenseManagerClient({
    endpoint: emulator.url,
    region: o.region ?? REGION,
    maxAttempts: 1,
    credentials: {
      accessKeyId: credential.accessKeyId,
      secretAccessKey: credential.secretAccessKey,
      ...(o.sessionToken === undefined ? {} : { sessionToken: o.sessionToken }),
    },
  });
  const clock = emulator.clock;
  const now = o.now ?? (clock === undefined ? undefined : () => clock.now());
  return now === undefined ? client : signOnClock(client, now);
}

/** CheckoutLicense of SKU with AWS Marketplace's fingerprint and a fresh ClientToken, as AWS says to call it. */
export function checkout(client: LicenseManagerClient, entitlements: EntitlementData[], input: Partial<CheckoutLicenseCommandInput> = {}): Promise<CheckoutLicenseCommandOutput> {
  return client.send(
    new CheckoutLicenseCommand({ ProductSKU: SKU, CheckoutType: 'PROVISIONAL', KeyFingerprint: FINGERPRINT, Entitlements: entitlements, ClientToken: randomUUID(), ...input }),
  );
}

/** Tiers: the buyer bought PremiumTier. */
export const tiers = (o: Partial<LicenseSeed> = {}): LicenseSeed => ({
  beneficiaryAccountId: BUYER,
  productSku: SKU,
  productName: 'Tiered product',
  entitlements: [{ name: 'PremiumTier', unit: 'None' }],
  ...o,
});

/** Floating seats: `seats` concurrent users. */
export const seats = (seatCount: number, o: Partial<LicenseSeed> = {}): LicenseSeed => ({
  beneficiaryAccountId: BUYER,
  productSku: SKU,
  entitlements: [{ name: 'Users', unit: 'Count', maxCount: seatCount }],
  ...o,
});

/** Drawdown: `gigabytes` to process, spent for good. */
export const drawdown = (gigabytes: number, o: Partial<LicenseSeed> = {}): LicenseSeed => ({
  beneficiaryAccountId: BUYER,
  productSku: SKU,
  entitlements: [{ name: 'DataProcessed', unit: 'Gigabytes', maxCount: gigabytes, allowCheckIn: false }],
  ...o,
});

export const ONE_USER: EntitlementData[] = [{ Name: 'Users', Unit: 'Count', Value: '1' }];

/**
 * The SDK v3 License Manager client as AWS's credential provider sample uses it for GetAccessToken:
 * anonymous. The SDK v3 has no switch for that on a SigV4 service; an auth scheme whose identity is
 * empty and whose signer leaves the request as it is sends it with no Authorization header at all
 * (`credentials: {accessKeyId: '', ...}` would still sign, with an empty key).
 */
export function anonymousLicenseClient(emulator: { url: string; clock: Clock }): LicenseManagerClient {
  const client = new LicenseManagerClient({
    endpoint: emulator.url,
    region: REGION,
    maxAttempts: 1,
    httpAuthSchemes: [{ schemeId: 'aws.auth#sigv4', identityProvider: () => async () => ({}), signer: { sign: async (request) => request } }],
  });
  return signOnClock(client, () => emulator.clock.now());
}

/** The SDK v3 STS client: AssumeRoleWithWebIdentity is unsigned in its model (smithy.api#noAuth), no credentials needed. */
export function stsClient(emulator: { url: string; clock: Clock }): STSClient {
  return signOnClock(new STSClient({ endpoint: emulator.url, region: REGION, maxAttempts: 1 }), () => emulator.clock.now());
}

/** A License Manager client signing with STS's temporary credentials. */
export function sessionLicenseClient(emulator: { url: string; clock: Clock }, c: Credentials): LicenseManagerClient {
  return licenseClient(emulator, { credential: { accessKeyId: c.AccessKeyId ?? '', secretAccessKey: c.SecretAccessKey ?? '' }, sessionToken: c.SessionToken ?? '' });
}

export const ANYWHERE_ACCOUNT = '210987654321';
export const CONSUMPTION_ROLE = `arn:aws:iam::${ANYWHERE_ACCOUNT}:role/AWSLicenseManagerConsumptionRole`;
/** AWS's sample consumption role: trusts openid-license-manager.amazonaws.com for the buyer's own tokens. */
export const consumptionRole = (o: Partial<RoleSpec> = {}): RoleSpec => ({ roleArn: CONSUMPTION_ROLE, trustsLicenseManager: true, issuerAccountId: ANYWHERE_ACCOUNT, ...o });

/** The whole chain a product off AWS runs: license token -> GetAccessToken -> AssumeRoleWithWebIdentity. */
export async function anywhereCredentials(emulator: Emulator & { clock: Clock }, licenseToken: string, roleArn = CONSUMPTION_ROLE): Promise<Credentials> {
  const { AccessToken } = await anonymousLicenseClient(emulator).send(new GetAccessTokenCommand({ Token: licenseToken }));
  const out = await stsClient(emulator).send(new AssumeRoleWithWebIdentityCommand({ RoleArn: roleArn, RoleSessionName: 'license-session', WebIdentityToken: AccessToken }));
  if (out.Credentials === undefined) throw new Error('no Credentials in the answer');
  return out.Credentials;
}
