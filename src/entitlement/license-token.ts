import type { KeyObject } from 'node:crypto';
import type { JWTPayload } from 'jose';
import { checkIssuedAt, optionalClaim, stringClaim, TokenVerificationError, verifyJws } from './token.js';

/**
 * Verification of License Manager's SignedToken: a JWT the license issuer signs with its asymmetric
 * KMS key (RSASSA-PSS SHA-384, `PS384`). Licenses AWS Marketplace issues publish no verification key,
 * so this runs only when the seller configures the issuer's key. The JWS steps are the RegisterUsage
 * token's (canonical, algorithm pinned first, signature, exp/nbf, iat); the token must name the license
 * it came with (`licenseArn`, as in AWS's sample token), and a product claim, when it has one, the product.
 * Failures are TokenVerificationErrors with the same reason words.
 */
export async function verifyLicenseToken(
  token: string,
  key: KeyObject,
  expected: { readonly licenseArn: string; readonly productSku: string },
  now: Date,
): Promise<JWTPayload> {
  const payload = await verifyJws(token, key, 'PS384', now);
  const arn = stringClaim(payload, 'licenseArn', 'LicenseArn');
  if (arn !== expected.licenseArn) throw new TokenVerificationError('license_arn_mismatch', `the SignedToken names the license ${arn}, not ${expected.licenseArn}`);
  const sku = optionalClaim(payload, 'productSku', 'ProductSKU');
  if (sku !== undefined && sku !== expected.productSku) {
    throw new TokenVerificationError('product_sku_mismatch', `the SignedToken names the product ${JSON.stringify(sku)}, not ${expected.productSku}`);
  }
  checkIssuedAt(payload, now);
  return payload;
}
