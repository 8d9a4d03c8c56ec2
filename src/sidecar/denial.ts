import { writeFileAtomic } from '../shared/atomic-file.js';
import { fileErrorCode, FileRefusedError, readRegularFile } from '../shared/regular-file.js';
import { ENTITLEMENT_FILE_MODE } from '../entitlement/file.js';
import { OUTCOMES, type OutcomeCode, type Status } from '../entitlement/outcomes.js';

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

export function denialPathFor(entitlementFile: string): string {
  return `${entitlementFile}.denied`;
}

export async function writeDenial(entitlementFile: string, record: DenialRecord): Promise<void> {
  await writeFileAtomic(denialPathFor(entitlementFile), `${JSON.stringify(record, null, 2)}\n`, ENTITLEMENT_FILE_MODE);
}

/** A denial record is a few hundred bytes; anything larger was not written by this sidecar. */
export const MAX_DENIAL_BYTES = 16 * 1024;

export type DenialLookup =
  | { readonly kind: 'none' }
  | { readonly kind: 'denied'; readonly record: DenialRecord }
  /** Something is at the path that is not a denial record of this sidecar: fail closed, say what it is. */
  | { readonly kind: 'unreadable'; readonly path: string; readonly why: string }
  /** A well-formed denial of another product (a shared or reused volume): not this product's answer. */
  | { readonly kind: 'foreign'; readonly path: string; readonly productCode: string };

const DENIAL_FIELD_LIMIT = 2000;

/**
 * Reads the recorded denial for `productCode`. The path is on the shared volume, so it may be a link
 * (not followed), a FIFO (not waited on), a directory, a device or huge: each is refused as
 * `unreadable`, and so is a file that is not a well-formed record. Unreadable fails closed: treating it
 * as "no denial" would let a restarted container call RegisterUsage again, the very thing the record
 * prevents. A record for another product code is reported as `foreign` and is never shown as this
 * product's reason.
 */
export async function readDenial(entitlementFile: string, productCode: string): Promise<DenialLookup> {
  const path = denialPathFor(entitlementFile);
  let text: string;
  try {
    text = (await readRegularFile(path, MAX_DENIAL_BYTES)).toString('utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'none' };
    const why = err instanceof FileRefusedError ? err.message.slice(path.length + 1) : `cannot be read (${fileErrorCode(err)})`;
    return { kind: 'unreadable', path, why };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { kind: 'unreadable', path, why: 'is not JSON (not a denial record written by this sidecar)' };
  }
  const record = asDenialRecord(parsed);
  if (record === undefined) return { kind: 'unreadable', path, why: 'is not a well-formed denial record' };
  if (record.productCode !== productCode) return { kind: 'foreign', path, productCode: record.productCode };
  return { kind: 'denied', record };
}

function asDenialRecord(value: unknown): DenialRecord | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const o = value as Record<string, unknown>;
  const text = (v: unknown) => typeof v === 'string' && v.length <= DENIAL_FIELD_LIMIT;
  const { code, productCode, awsError, message, deniedAt } = o;
  if (typeof code !== 'string' || !Object.hasOwn(OUTCOMES, code) || !OUTCOMES[code as OutcomeCode].sticky) return undefined;
  if (typeof productCode !== 'string' || !/^[-a-zA-Z0-9/=:_.@]{1,255}$/.test(productCode)) return undefined;
  if (!text(message) || !text(deniedAt) || (awsError !== undefined && !(typeof awsError === 'string' && /^[A-Za-z0-9_.:#-]{1,128}$/.test(awsError)))) {
    return undefined;
  }
  return {
    code: code as OutcomeCode,
    status: OUTCOMES[code as OutcomeCode].status,
    productCode,
    awsError: awsError as string | undefined,
    message: message as string,
    deniedAt: deniedAt as string,
  };
}
