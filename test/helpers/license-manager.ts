/**
 * License Manager test plumbing: the real SDK v3 client signing on the emulator's clock, a checkout
 * with AWS Marketplace's fingerprint, and license seeds for the three models (tiers, floating seats,
 * drawdown).
 */
import { randomUUID } from 'node:crypto';
import { CheckoutLicenseCommand, LicenseManagerClient } from '@aws-sdk/client-license-manager';
import type { CheckoutLicenseCommandInput, CheckoutLicenseCommandOutput, EntitlementData } from '@aws-sdk/client-license-manager';
import { MARKETPLACE_ISSUER } from '../../src/emulator/index.js';
import type { EmulatorCredential, LicenseSeed } from '../../src/emulator/index.js';
import { signOnClock } from './clock.js';
import { CRED, REGION } from './emulator-requests.js';
import type { Clock } from './emulator-requests.js';

export const FINGERPRINT = MARKETPLACE_ISSUER.keyFingerprint;
/** The default credential's account: the buyer in these tests. */
export const BUYER = CRED.accountId;
export const SKU = '7a1c2b3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
export const OTHER = { accessKeyId: 'AKIAEMULATOROTHER001', secretAccessKey: 'other/secret/access/key/00000000000000001', accountId: '444455556666' } as const satisfies EmulatorCredential;

/** The real client, over real HTTP, signing on `clock` (the emulator's), retries off. */
export function licenseClient(emulator: { url: string; clock: Clock }, o: { credential?: EmulatorCredential; sessionToken?: string; region?: string } = {}): LicenseManagerClient {
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
  return signOnClock(client, () => emulator.clock.now());
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
