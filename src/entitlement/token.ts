import type { KeyObject } from 'node:crypto';
import { decodeProtectedHeader, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';

/**
 * Verification of the Signature that RegisterUsage returns: a PS256 JWT signed with the product's key,
 * whose claims must repeat the request this process sent. The JWS steps (canonical segments, the
 * algorithm pinned before any cryptography, the signature, exp/nbf, iat) are shared with License
 * Manager's PS384 SignedToken (license-token.ts).
 */

export const TOKEN_FAILURE_REASONS = {
  malformed: 'the token is not a well-formed JWS/JWT',
  algorithm: 'the token is not signed with the one algorithm allowed (PS256; PS384 for a license)',
  signature: 'the signature does not verify with the configured public key',
  claims_missing: 'the token lacks a claim it must carry (productCode, publicKeyVersion, nonce; licenseArn for a license)',
  claims_invalid: 'a claim has the wrong type or a value no time or version can have',
  claims_conflict: 'the token spells a claim twice (camelCase and PascalCase) with different values',
  product_code_mismatch: 'the productCode claim differs from the product code sent',
  public_key_version_mismatch: 'the publicKeyVersion claim differs from the key version sent',
  nonce_mismatch: 'the nonce claim differs from the nonce this process generated',
  license_arn_mismatch: "a license's licenseArn claim differs from the license it came with",
  product_sku_mismatch: "a license's product claim differs from the product's SKU",
  issued_in_future: 'the iat claim lies in the future beyond the allowed clock skew',
  expired: 'the token carries an exp or nbf claim that is not satisfied now',
} as const;
export type TokenFailureReason = keyof typeof TOKEN_FAILURE_REASONS;

export class TokenVerificationError extends Error {
  readonly reason: TokenFailureReason;
  /** The outcome code: a token that fails itself is TOKEN_INVALID, one that answers another request TOKEN_MISMATCH. */
  readonly code: 'TOKEN_INVALID' | 'TOKEN_MISMATCH';
  constructor(reason: TokenFailureReason, detail?: string, options?: { cause?: unknown }) {
    super(detail === undefined ? TOKEN_FAILURE_REASONS[reason] : `${TOKEN_FAILURE_REASONS[reason]}: ${detail}`, options);
    this.name = 'TokenVerificationError';
    this.reason = reason;
    this.code = reason.endsWith('_mismatch') ? 'TOKEN_MISMATCH' : 'TOKEN_INVALID';
  }
}

export interface ExpectedClaims {
  readonly productCode: string;
  readonly publicKeyVersion: number;
  /** The nonce sent with the request; undefined skips the check (only for re-verifying a stored file). */
  readonly nonce: string | undefined;
}

export interface VerifiedClaims {
  readonly productCode: string;
  readonly publicKeyVersion: number;
  readonly nonce: string;
  readonly issuedAt: Date | undefined;
}

export interface VerifyOptions {
  readonly now?: Date;
  /** How far in the future `iat` may lie, for clock differences. */
  readonly maxClockSkewSeconds?: number;
}

export const DEFAULT_MAX_CLOCK_SKEW_SECONDS = 300;

/**
 * Reads a claim as AWS's own sample code does (camelCase), tolerating the PascalCase of the API
 * reference's example. A token that carries both spellings with different values is refused.
 */
export function claim(payload: JWTPayload, camel: string, pascal = camel.charAt(0).toUpperCase() + camel.slice(1)): unknown {
  const value = optionalClaim(payload, camel, pascal);
  if (value === undefined) throw new TokenVerificationError('claims_missing', `no ${camel} claim`);
  return value;
}

/** The same, for a claim a token may leave out: undefined when neither spelling is there. */
export function optionalClaim(payload: JWTPayload, camel: string, pascal = camel.charAt(0).toUpperCase() + camel.slice(1)): unknown {
  const a = payload[camel];
  const b = payload[pascal];
  if (a !== undefined && b !== undefined && a !== b) {
    throw new TokenVerificationError('claims_conflict', `${camel} ${describe(a)} but ${pascal} ${describe(b)}`);
  }
  return a ?? b;
}

/** A claim's value for a message: its type and a short, printable rendering (never the whole value). */
function describe(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return `${typeof value} ${text.length > 40 ? `${text.slice(0, 37)}...` : text}`;
}

export function stringClaim(payload: JWTPayload, camel: string, pascal?: string): string {
  const value = claim(payload, camel, pascal);
  if (typeof value !== 'string') throw new TokenVerificationError('claims_invalid', `${camel} is a ${describe(value)}, not a string`);
  return value;
}

function versionClaim(payload: JWTPayload): number {
  const value = claim(payload, 'publicKeyVersion');
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
  // A numeric string would still name exactly one version; accept it rather than refuse a paying customer.
  if (typeof value === 'string' && /^\d{1,10}$/.test(value)) return Number(value);
  throw new TokenVerificationError('claims_invalid', `publicKeyVersion is a ${describe(value)}, not an integer`);
}

/** Date's range: ±8.64e15 ms. An iat beyond it is no time at all. */
const MAX_EPOCH_SECONDS = 8.64e12;

/**
 * True when every segment is canonical base64url. Decoders ignore the unused low bits of a segment's
 * last character, so without this check one token would verify under several spellings.
 */
function isCanonical(token: string): boolean {
  const segments = token.split('.');
  return segments.length === 3 && segments.every((seg) => /^[A-Za-z0-9_-]*$/.test(seg) && Buffer.from(seg, 'base64url').toString('base64url') === seg);
}

/**
 * The JWS steps every token here goes through: three canonical base64url segments, the one algorithm
 * allowed pinned before any cryptography (refusing none, RS256, and HS256 keyed with the public PEM),
 * the signature, and exp/nbf when present. Returns the payload for the caller's claim checks.
 */
export async function verifyJws(token: string, publicKey: KeyObject, alg: 'PS256' | 'PS384', now: Date): Promise<JWTPayload> {
  if (!isCanonical(token)) throw new TokenVerificationError('malformed', 'not three canonical base64url segments');
  let header: unknown;
  try {
    header = decodeProtectedHeader(token).alg;
  } catch (err) {
    throw new TokenVerificationError('malformed', undefined, { cause: err });
  }
  if (header !== alg) throw new TokenVerificationError('algorithm', `got ${JSON.stringify(header)}, allowed ${alg}`);
  try {
    return (await jwtVerify(token, publicKey, { algorithms: [alg], currentDate: now })).payload;
  } catch (err) {
    if (err instanceof joseErrors.JWSSignatureVerificationFailed) throw new TokenVerificationError('signature', undefined, { cause: err });
    if (err instanceof joseErrors.JWTExpired) throw new TokenVerificationError('expired', err.message, { cause: err });
    if (err instanceof joseErrors.JWTClaimValidationFailed) {
      // 'check_failed' is a time check (nbf not yet); 'invalid' is a claim of the wrong type, e.g. a string iat.
      const why = err.reason === 'check_failed' ? 'expired' : 'claims_invalid';
      throw new TokenVerificationError(why, err.message, { cause: err });
    }
    if (err instanceof joseErrors.JOSEAlgNotAllowed) throw new TokenVerificationError('algorithm', undefined, { cause: err });
    throw new TokenVerificationError('malformed', (err as Error).message, { cause: err });
  }
}

/** `iat`, when present, must be a representable time no further ahead than the allowed clock skew. */
export function checkIssuedAt(payload: JWTPayload, now: Date, maxClockSkewSeconds = DEFAULT_MAX_CLOCK_SKEW_SECONDS): Date | undefined {
  const iat = payload.iat;
  // jose has checked that iat, when present, is a number; it may still be one no Date can hold.
  if (iat !== undefined && !(Number.isFinite(iat) && Math.abs(iat) <= MAX_EPOCH_SECONDS)) {
    throw new TokenVerificationError('claims_invalid', `iat ${iat} is not a representable time`);
  }
  if (iat !== undefined && iat > now.getTime() / 1000 + maxClockSkewSeconds) {
    throw new TokenVerificationError('issued_in_future', `iat ${new Date(iat * 1000).toISOString()}`);
  }
  return iat === undefined ? undefined : new Date(iat * 1000);
}

export async function verifyRegistrationToken(
  token: string,
  publicKey: KeyObject,
  expected: ExpectedClaims,
  options: VerifyOptions = {},
): Promise<VerifiedClaims> {
  const now = options.now ?? new Date();
  const payload = await verifyJws(token, publicKey, 'PS256', now);
  const productCode = stringClaim(payload, 'productCode');
  const publicKeyVersion = versionClaim(payload);
  const nonce = stringClaim(payload, 'nonce');
  if (productCode !== expected.productCode) throw new TokenVerificationError('product_code_mismatch');
  if (publicKeyVersion !== expected.publicKeyVersion) throw new TokenVerificationError('public_key_version_mismatch');
  if (expected.nonce !== undefined && nonce !== expected.nonce) throw new TokenVerificationError('nonce_mismatch');
  const issuedAt = checkIssuedAt(payload, now, options.maxClockSkewSeconds);
  return { productCode, publicKeyVersion, nonce, issuedAt };
}
