import type { KeyObject } from 'node:crypto';
import { parseProductPublicKey } from './public-key.js';
import { fileErrorCode, FileRefusedError, readRegularFile } from '../shared/regular-file.js';
import { TokenVerificationError, verifyRegistrationToken, type VerifiedClaims } from './token.js';

/**
 * Offline re-verification of an entitlement file, for the `verify` command and for Node apps that
 * read the file: the app should trust the signed token, not a boolean someone could write.
 */

export class EntitlementFileError extends Error {
  readonly reason: string;
  constructor(reason: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EntitlementFileError';
    this.reason = reason;
  }
}

/** An entitlement file is about 1.5 KiB; 64 KiB leaves room for any token AWS may issue. */
export const MAX_ENTITLEMENT_FILE_BYTES = 64 * 1024;

export interface VerifyEntitlementFileOptions {
  /** The product's public key: PEM text or a KeyObject. */
  readonly publicKey: string | KeyObject;
  /** When given, the file must be for this product code. */
  readonly productCode?: string;
  /** When given, the file must be for this key version. */
  readonly publicKeyVersion?: number;
  /** When given, the product code must be one of these. */
  readonly trustedProductCodes?: readonly string[];
  readonly now?: Date;
}

export interface VerifiedEntitlement extends VerifiedClaims {
  readonly verifiedAt: string;
}

/**
 * An entitlement file's JSON object, whichever source wrote it, or an EntitlementFileError: unreadable
 * (not a regular file, too large, absent) or malformed (not a JSON object).
 */
export async function readEntitlementRecord(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    // The file is the sidecar's, renamed into place: never a link, a FIFO or megabytes.
    text = (await readRegularFile(path, MAX_ENTITLEMENT_FILE_BYTES)).toString('utf8');
  } catch (err) {
    const why = err instanceof FileRefusedError ? err.message : `${path} cannot be read (${fileErrorCode(err)})`;
    throw new EntitlementFileError('unreadable', why, { cause: err });
  }
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    throw new EntitlementFileError('malformed', `${path} is not JSON`, { cause: err });
  }
  if (record === null || typeof record !== 'object' || Array.isArray(record)) throw new EntitlementFileError('malformed', `${path} is not a JSON object`);
  return record;
}

export async function verifyEntitlementFile(path: string, options: VerifyEntitlementFileOptions): Promise<VerifiedEntitlement> {
  const record = await readEntitlementRecord(path);
  // Files written before `source` existed have none; a contract product's file is refused by name.
  if (record.source !== undefined && record.source !== 'register-usage' && record.source !== 'license-manager') {
    throw new EntitlementFileError('malformed', `${path} has a source that is neither register-usage nor license-manager`);
  }
  if (record.source !== undefined && record.source !== 'register-usage') {
    throw new EntitlementFileError('wrong_source', `${path} is not an hourly product's file (source ${JSON.stringify(record.source)}, expected "register-usage"); check a contract product's file with checkLicenseEntitlementFile`);
  }
  const { productCode, publicKeyVersion, nonce, signature, verifiedAt } = record;
  if (typeof productCode !== 'string' || typeof publicKeyVersion !== 'number' || typeof nonce !== 'string' || typeof signature !== 'string') {
    throw new EntitlementFileError('malformed', `${path} lacks productCode, publicKeyVersion, nonce or signature`);
  }
  if (options.productCode !== undefined && productCode !== options.productCode) {
    throw new EntitlementFileError('product_code_mismatch', `${path} is for product ${productCode}, expected ${options.productCode}`);
  }
  if (options.publicKeyVersion !== undefined && publicKeyVersion !== options.publicKeyVersion) {
    throw new EntitlementFileError('public_key_version_mismatch', `${path} is for key version ${publicKeyVersion}, expected ${options.publicKeyVersion}`);
  }
  if (options.trustedProductCodes !== undefined && !options.trustedProductCodes.includes(productCode)) {
    throw new EntitlementFileError('untrusted_product_code', `${path} is for product ${productCode}, which is not a trusted product code`);
  }
  const key = typeof options.publicKey === 'string' ? parseProductPublicKey(options.publicKey).key : options.publicKey;
  try {
    // The token's claims must equal the file's fields: a file edited by hand does not verify.
    const claims = await verifyRegistrationToken(signature, key, { productCode, publicKeyVersion, nonce }, { now: options.now ?? new Date() });
    return { ...claims, verifiedAt: typeof verifiedAt === 'string' ? verifiedAt : '' };
  } catch (err) {
    if (err instanceof TokenVerificationError) throw new EntitlementFileError(err.reason, `${path}: ${err.message}`, { cause: err });
    throw err;
  }
}
