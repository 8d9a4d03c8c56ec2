import type { KeyObject } from 'node:crypto';
import { decodeProtectedHeader, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';

/**
 * Verification of the Signature that RegisterUsage returns: a PS256 JWT signed with the product's key,
 * whose claims must repeat the request this process sent.
 */

export const TOKEN_FAILURE_REASONS = {
  malformed: 'the token is not a well-formed JWS/JWT',
  algorithm: 'the token is not signed with PS256',
  signature: "the signature does not verify with the product's public key",
  claims_missing: 'the token lacks productCode, publicKeyVersion or nonce',
  product_code_mismatch: 'the productCode claim differs from the product code sent',
  public_key_version_mismatch: 'the publicKeyVersion claim differs from the key version sent',
  nonce_mismatch: 'the nonce claim differs from the nonce this process generated',
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
function claim(payload: JWTPayload, camel: string): unknown {
  const pascal = camel.charAt(0).toUpperCase() + camel.slice(1);
  const a = payload[camel];
  const b = payload[pascal];
  if (a !== undefined && b !== undefined && a !== b) return undefined;
  return a ?? b;
}

function versionClaim(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
  // A numeric string would still name exactly one version; accept it rather than refuse a paying customer.
  if (typeof value === 'string' && /^\d{1,10}$/.test(value)) return Number(value);
  return undefined;
}

/**
 * True when every segment is canonical base64url. Decoders ignore the unused low bits of a segment's
 * last character, so without this check one token would verify under several spellings.
 */
function isCanonical(token: string): boolean {
  const segments = token.split('.');
  return segments.length === 3 && segments.every((seg) => /^[A-Za-z0-9_-]*$/.test(seg) && Buffer.from(seg, 'base64url').toString('base64url') === seg);
}

export async function verifyRegistrationToken(
  token: string,
  publicKey: KeyObject,
  expected: ExpectedClaims,
  options: VerifyOptions = {},
): Promise<VerifiedClaims> {
  if (!isCanonical(token)) throw new TokenVerificationError('malformed', 'not three canonical base64url segments');
  let alg: unknown;
  try {
    alg = decodeProtectedHeader(token).alg;
  } catch (err) {
    throw new TokenVerificationError('malformed', undefined, { cause: err });
  }
  // Pinned before any cryptography: refuses none, RS256, and HS256 keyed with the public PEM.
  if (alg !== 'PS256') throw new TokenVerificationError('algorithm', `got ${JSON.stringify(alg)}`);

  const now = options.now ?? new Date();
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, publicKey, { algorithms: ['PS256'], currentDate: now }));
  } catch (err) {
    if (err instanceof joseErrors.JWSSignatureVerificationFailed) throw new TokenVerificationError('signature', undefined, { cause: err });
    if (err instanceof joseErrors.JWTExpired || err instanceof joseErrors.JWTClaimValidationFailed) {
      throw new TokenVerificationError('expired', (err as Error).message, { cause: err });
    }
    if (err instanceof joseErrors.JOSEAlgNotAllowed) throw new TokenVerificationError('algorithm', undefined, { cause: err });
    throw new TokenVerificationError('malformed', (err as Error).message, { cause: err });
  }

  const productCode = claim(payload, 'productCode');
  const publicKeyVersion = versionClaim(claim(payload, 'publicKeyVersion'));
  const nonce = claim(payload, 'nonce');
  if (typeof productCode !== 'string' || publicKeyVersion === undefined || typeof nonce !== 'string') {
    throw new TokenVerificationError('claims_missing');
  }
  if (productCode !== expected.productCode) throw new TokenVerificationError('product_code_mismatch');
  if (publicKeyVersion !== expected.publicKeyVersion) throw new TokenVerificationError('public_key_version_mismatch');
  if (expected.nonce !== undefined && nonce !== expected.nonce) throw new TokenVerificationError('nonce_mismatch');

  const iat = payload.iat;
  const skew = options.maxClockSkewSeconds ?? DEFAULT_MAX_CLOCK_SKEW_SECONDS;
  if (iat !== undefined && iat > now.getTime() / 1000 + skew) {
    throw new TokenVerificationError('issued_in_future', `iat ${new Date(iat * 1000).toISOString()}`);
  }
  return { productCode, publicKeyVersion, nonce, issuedAt: iat === undefined ? undefined : new Date(iat * 1000) };
}
