import { readFile } from 'node:fs/promises';
import { OUTCOMES, type OutcomeCode, type Status } from './outcomes.js';
import { writeFileAtomic } from './atomic-file.js';

/** The file the paid app reads. It holds the raw token so the app can verify it itself. */
export interface EntitlementRecord {
  readonly productCode: string;
  readonly publicKeyVersion: number;
  readonly nonce: string;
  readonly signature: string;
  readonly issuedAt: string | null;
  readonly verifiedAt: string;
  readonly publicKeyRotationTimestamp: string | null;
}

/**
 * What is remembered when AWS denies the entitlement. AWS throws entitlement errors only on the first
 * call from a task or pod, so the denial must outlive a restart of this container: it lives on the
 * shared volume, which lives as long as the pod/task.
 */
export interface DenialRecord {
  readonly code: OutcomeCode;
  readonly status: Status;
  readonly productCode: string;
  readonly awsError: string | undefined;
  readonly message: string;
  readonly deniedAt: string;
}

export const ENTITLEMENT_FILE_MODE = 0o644;

export function denialPathFor(entitlementFile: string): string {
  return `${entitlementFile}.denied`;
}

export async function writeEntitlement(path: string, record: EntitlementRecord): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(record, null, 2)}\n`, ENTITLEMENT_FILE_MODE);
}

export async function writeDenial(entitlementFile: string, record: DenialRecord): Promise<void> {
  await writeFileAtomic(denialPathFor(entitlementFile), `${JSON.stringify(record, null, 2)}\n`, ENTITLEMENT_FILE_MODE);
}

/**
 * Reads a recorded denial. A record that exists but cannot be understood still denies: failing open
 * here would let a restarted container through, which is the very thing the record prevents.
 */
export async function readDenial(entitlementFile: string): Promise<DenialRecord | undefined> {
  const path = denialPathFor(entitlementFile);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const parsed = JSON.parse(text) as Partial<DenialRecord>;
    const code = parsed.code;
    if (typeof code === 'string' && code in OUTCOMES && OUTCOMES[code as OutcomeCode].sticky) {
      return {
        code,
        status: OUTCOMES[code].status,
        productCode: String(parsed.productCode ?? ''),
        awsError: typeof parsed.awsError === 'string' ? parsed.awsError : undefined,
        message: String(parsed.message ?? ''),
        deniedAt: String(parsed.deniedAt ?? ''),
      };
    }
  } catch {
    // fall through to the fail-closed record below
  }
  return {
    code: 'CUSTOMER_NOT_ENTITLED',
    status: OUTCOMES.CUSTOMER_NOT_ENTITLED.status,
    productCode: '',
    awsError: undefined,
    message: `the denial record ${path} is unreadable; treated as a denial`,
    deniedAt: '',
  };
}
