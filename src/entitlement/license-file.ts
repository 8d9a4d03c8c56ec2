import type { KeyObject } from 'node:crypto';
import { createPublicKey } from 'node:crypto';
import type { GrantedEntitlementRecord } from './file.js';
import { verifyLicenseToken } from './license-token.js';
import { TokenVerificationError } from './token.js';
import { AWS_MARKETPLACE_KEY_FINGERPRINT } from './license-constants.js';
import { EntitlementFileError, readEntitlementRecord } from './verify-file.js';

export { AWS_MARKETPLACE_KEY_FINGERPRINT };

export interface CheckLicenseFileOptions {
  /** The product ID (SKU) compiled into the app: the file must be for it. */
  readonly productSku: string;
  /** When given, the file's SKU must also be one of these. */
  readonly trustedProductSkus?: readonly string[];
  /** The license issuer's public key (PEM or KeyObject), when licenses are signed: the SignedToken must then verify. */
  readonly licensePublicKey?: string | KeyObject;
  /** When given, a file License Manager last confirmed longer ago than this is refused (`stale`). */
  readonly maxAgeMs?: number;
  readonly now?: Date;
}

export interface LicenseEntitlement {
  readonly productSku: string;
  readonly licenseArn: string;
  readonly checkoutType: 'PROVISIONAL' | 'PERPETUAL';
  /** What the pod may do: the tiers, seats or quantities granted. */
  readonly entitlements: readonly GrantedEntitlementRecord[];
  readonly checkedAt: Date;
  readonly expiration: Date;
  /** The sidecar could not reach License Manager at its last check; the last good license is in force. */
  readonly stale: boolean;
  /** Whether the SignedToken was verified here, with `licensePublicKey`. */
  readonly signedTokenVerified: boolean;
}

const str = (v: unknown, max = 2048): v is string => typeof v === 'string' && v.length > 0 && v.length <= max;
/** RFC 3339, as the sidecar writes instants (toISOString) and every recipe of examples/verify reads them. */
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$/i;
const instant = (v: unknown): Date | undefined => {
  if (!str(v, 64) || !RFC3339.test(v)) return undefined;
  const t = Date.parse(v);
  return Number.isFinite(t) ? new Date(t) : undefined;
};

/**
 * Checks a contract product's entitlement file (`source: "license-manager"`) for an app that reads it.
 * What it proves is limited, and says so: licenses AWS Marketplace issues carry no signature an app can
 * check, so without `licensePublicKey` this checks that the file is well-formed, for this product, pinned
 * to AWS Marketplace as issuer, with a seat that has not ended, not that the sidecar wrote it. With
 * `licensePublicKey` the SignedToken must verify (PS384) and name this license (and, if it names a
 * product, this SKU).
 */
export async function checkLicenseEntitlementFile(path: string, options: CheckLicenseFileOptions): Promise<LicenseEntitlement> {
  // The caller's arguments first: a key that is no key is a programming error, not a file's fault.
  const issuerKey = typeof options.licensePublicKey === 'string' ? publicKeyFromPem(options.licensePublicKey) : options.licensePublicKey;
  const record = await readEntitlementRecord(path);
  if (record.source !== 'license-manager' && record.source !== 'register-usage' && record.source !== undefined) {
    throw new EntitlementFileError('malformed', `${path} has a source that is neither register-usage nor license-manager`);
  }
  if (record.source !== 'license-manager') {
    throw new EntitlementFileError('wrong_source', `${path} is not a contract product's file (source ${JSON.stringify(record.source ?? null)}, expected "license-manager")`);
  }
  const { productSku, licenseArn, checkoutType, keyFingerprint, entitlements, signedToken } = record;
  const checkedAt = instant(record.checkedAt);
  const expiration = instant(record.expiration);
  const granted = Array.isArray(entitlements) && entitlements.length > 0 && entitlements.length <= 100 && entitlements.every(isGranted) ? (entitlements as GrantedEntitlementRecord[]) : undefined;
  const wellFormed =
    str(productSku) && str(licenseArn) && (checkoutType === 'PROVISIONAL' || checkoutType === 'PERPETUAL') && typeof keyFingerprint === 'string' &&
    granted !== undefined && checkedAt !== undefined && expiration !== undefined && typeof record.stale === 'boolean' && (signedToken === null || typeof signedToken === 'string');
  if (!wellFormed) {
    throw new EntitlementFileError('malformed', `${path} lacks or mangles productSku, licenseArn, checkoutType, keyFingerprint, entitlements, checkedAt, expiration, stale or signedToken`);
  }
  if (productSku !== options.productSku) {
    throw new EntitlementFileError('product_sku_mismatch', `${path} is for product ${productSku}, expected ${options.productSku}`);
  }
  if (options.trustedProductSkus !== undefined && !options.trustedProductSkus.includes(productSku)) {
    throw new EntitlementFileError('untrusted_product_sku', `${path} is for product ${productSku}, which is not a trusted product SKU`);
  }
  if (keyFingerprint !== AWS_MARKETPLACE_KEY_FINGERPRINT) {
    throw new EntitlementFileError('key_fingerprint_mismatch', `${path} names the issuer fingerprint ${JSON.stringify(keyFingerprint)}, not AWS Marketplace's: the license was not issued by AWS Marketplace`);
  }
  const now = options.now ?? new Date();
  // Past `expiration` the sidecar that kept the file current is gone (or the license has ended).
  if (expiration.getTime() <= now.getTime()) {
    throw new EntitlementFileError('expired', `${path} vouched for the license until ${expiration.toISOString()}`);
  }
  if (options.maxAgeMs !== undefined && now.getTime() - checkedAt.getTime() > options.maxAgeMs) {
    throw new EntitlementFileError('stale', `${path}: License Manager last confirmed the license at ${checkedAt.toISOString()}, longer ago than allowed`);
  }
  let signedTokenVerified = false;
  if (issuerKey !== undefined) {
    if (typeof signedToken !== 'string') throw new EntitlementFileError('signed_token_missing', `${path} has no SignedToken, and a license issuer key was given`);
    try {
      await verifyLicenseToken(signedToken, issuerKey, { licenseArn, productSku }, now);
    } catch (err) {
      if (err instanceof TokenVerificationError) throw new EntitlementFileError(err.reason, `${path}: ${err.message}`, { cause: err });
      throw err;
    }
    signedTokenVerified = true;
  }
  return { productSku, licenseArn, checkoutType, entitlements: granted, checkedAt, expiration, stale: record.stale === true, signedTokenVerified };
}

function isGranted(e: unknown): boolean {
  if (e === null || typeof e !== 'object') return false;
  const g = e as Record<string, unknown>;
  return str(g.name, 255) && str(g.unit, 64) && (g.value === null || str(g.value, 64));
}

function publicKeyFromPem(pem: string): KeyObject {
  try {
    return createPublicKey(pem);
  } catch (err) {
    throw new TypeError('licensePublicKey is not a PEM public key', { cause: err });
  }
}
