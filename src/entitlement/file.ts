import { writeFileAtomic } from '../shared/atomic-file.js';

/**
 * The entitlement file the paid app reads, written atomically (temporary file, fsync, rename), mode
 * 0644 so the app's container can read it whatever its uid. `source` says how the pod became entitled.
 */

/** An hourly product: the raw signed RegisterUsage token, so the app can verify it itself. */
export interface RegisterUsageRecord {
  readonly source: 'register-usage';
  readonly productCode: string;
  readonly publicKeyVersion: number;
  readonly nonce: string;
  readonly signature: string;
  readonly issuedAt: string | null;
  readonly verifiedAt: string;
  readonly publicKeyRotationTimestamp: string | null;
}

/** One entitlement License Manager granted: a tier (`Unit: None`), seats or a quantity. */
export interface GrantedEntitlementRecord {
  readonly name: string;
  readonly unit: string;
  readonly value: string | null;
}

/** A contract product: what License Manager granted the pod, and when it was last confirmed. */
export interface LicenseRecord {
  readonly source: 'license-manager';
  readonly productSku: string;
  readonly licenseArn: string;
  readonly checkoutType: 'PROVISIONAL' | 'PERPETUAL';
  /** Always AWS Marketplace's issuer fingerprint: the check was pinned to it. */
  readonly keyFingerprint: string;
  /** What the license grants of the entitlements asked for: the app's tier or quantity. */
  readonly entitlements: readonly GrantedEntitlementRecord[];
  readonly issuedAt: string;
  /**
   * Until when this file vouches for the license: the seat's Expiration, extended (and the file
   * rewritten) while the sidecar runs; for drawdown, two check intervals after `checkedAt`; while
   * `stale`, the end of the grace period; never after the license's own end. Past it, an app must not
   * rely on the file: the sidecar that kept it current is gone.
   */
  readonly expiration: string;
  /** When License Manager last confirmed the license. */
  readonly checkedAt: string;
  /** True while License Manager cannot be reached and the last good license is in force (the grace period). */
  readonly stale: boolean;
  /** License Manager's SignedToken (a PS384 JWT), when the issuer signs licenses. */
  readonly signedToken: string | null;
  /** Whether SignedToken was verified with a configured issuer key. */
  readonly signedTokenVerified: boolean;
}

export type EntitlementRecord = RegisterUsageRecord | LicenseRecord;

export const ENTITLEMENT_FILE_MODE = 0o644;

export async function writeEntitlement(path: string, record: EntitlementRecord): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(record, null, 2)}\n`, ENTITLEMENT_FILE_MODE);
}
