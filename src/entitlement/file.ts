import { writeFileAtomic } from '../shared/atomic-file.js';

/**
 * The entitlement file the paid app reads, written atomically (temporary file, fsync, rename), mode
 * 0644 so the app's container can read it whatever its uid. It holds the raw signed token so the app
 * can verify it itself rather than trust that a file exists.
 */
export interface EntitlementRecord {
  readonly productCode: string;
  readonly publicKeyVersion: number;
  readonly nonce: string;
  readonly signature: string;
  readonly issuedAt: string | null;
  readonly verifiedAt: string;
  readonly publicKeyRotationTimestamp: string | null;
}

export const ENTITLEMENT_FILE_MODE = 0o644;

export async function writeEntitlement(path: string, record: EntitlementRecord): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(record, null, 2)}\n`, ENTITLEMENT_FILE_MODE);
}
