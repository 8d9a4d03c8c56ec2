import type { KeyObject } from 'node:crypto';
import { decodeProtectedHeader, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';

/**
 * Verification of License Manager's SignedToken: a JWT the license issuer signs with its asymmetric
 * KMS key (RSASSA-PSS SHA-384, `PS384`). Licenses AWS Marketplace issues publish no verification key,
 * so this runs only when the seller configures the issuer's key; then the algorithm is pinned before
 * any cryptography and the token must name the license it came with (`licenseArn`, as in AWS's sample
 * token; a product claim, when there is one, must name the product).
 */

export class LicenseTokenError extends Error {
  override readonly name = 'LicenseTokenError';
  readonly reason: 'malformed' | 'algorithm' | 'signature' | 'claims_missing' | 'license_arn_mismatch' | 'product_sku_mismatch';
  constructor(reason: LicenseTokenError['reason'], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.reason = reason;
  }
}

/** The claims that name a license, in the spellings License Manager's tokens use. */
function claimOf(payload: JWTPayload, names: readonly string[]): unknown {
  for (const n of names) if (payload[n] !== undefined) return payload[n];
  return undefined;
}

export async function verifyLicenseToken(
  token: string,
  key: KeyObject,
  expected: { readonly licenseArn: string; readonly productSku: string },
  now: Date,
): Promise<JWTPayload> {
  let alg: unknown;
  try {
    alg = decodeProtectedHeader(token).alg;
  } catch (err) {
    throw new LicenseTokenError('malformed', 'the SignedToken is not a well-formed JWT', { cause: err });
  }
  if (alg !== 'PS384') throw new LicenseTokenError('algorithm', `the SignedToken is signed with ${JSON.stringify(alg)}, not PS384`);
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, key, { algorithms: ['PS384'], currentDate: now }));
  } catch (err) {
    if (err instanceof joseErrors.JWSSignatureVerificationFailed) throw new LicenseTokenError('signature', "the SignedToken's signature does not verify with the configured issuer key", { cause: err });
    throw new LicenseTokenError('malformed', `the SignedToken does not verify: ${(err as Error).message}`, { cause: err });
  }
  const arn = claimOf(payload, ['licenseArn', 'LicenseArn', 'license_arn']);
  const sku = claimOf(payload, ['productSKU', 'ProductSKU', 'productSku', 'product_sku']);
  // AWS's sample token names the license (licenseArn) and no product; a product claim, if present, must agree.
  if (arn === undefined) throw new LicenseTokenError('claims_missing', 'the SignedToken has no licenseArn claim');
  if (arn !== expected.licenseArn) throw new LicenseTokenError('license_arn_mismatch', `the SignedToken names the license ${String(arn)}, not ${expected.licenseArn}`);
  if (sku !== undefined && sku !== expected.productSku) {
    throw new LicenseTokenError('product_sku_mismatch', `the SignedToken names the product ${String(sku)}, not ${expected.productSku}`);
  }
  return payload;
}
