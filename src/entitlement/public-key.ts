import { createHash, createPublicKey, type KeyObject } from 'node:crypto';

/**
 * The 1024-bit RSA key of jwt.io's RS256 demo, shown as a placeholder in AWS's Java sample for
 * RegisterUsage. Its private key is public, so a token "verified" with it proves nothing.
 */
const JWT_IO_DEMO_KEY_PEM = `-----BEGIN PUBLIC KEY-----
MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDdlatRjRjogo3WojgGHFHYLugd
UWAY9iR3fy4arWNA1KoS8kVw33cJibXr8bvwUAUparCwlvdbH6dvEOfou0/gCFQs
HUfQrSDv+MuSUMAe8jzKE4qW+jK+xQU9a03GUnKHkkle+Q0pX/g6jXZ7r1/xAK5D
o2kQ+X5xK9cipRgEKwIDAQAB
-----END PUBLIC KEY-----`;

export const MIN_RSA_BITS = 2048;

export interface ProductPublicKey {
  readonly key: KeyObject;
  readonly pem: string;
  readonly bits: number;
  /** SHA-256 of the DER SubjectPublicKeyInfo, for logs: identifies the key without printing it. */
  readonly fingerprint: string;
}

function modulus(key: KeyObject): string | undefined {
  return key.export({ format: 'jwk' }).n;
}

const demoModulus = modulus(createPublicKey(JWT_IO_DEMO_KEY_PEM));

export class PublicKeyError extends Error {}

/** Parses and vets the product's public key: an RSA SubjectPublicKeyInfo PEM of at least 2048 bits. */
export function parseProductPublicKey(pemText: string): ProductPublicKey {
  const pem = pemText.trim();
  if (!pem.includes('-----BEGIN PUBLIC KEY-----')) {
    if (pem.includes('PRIVATE KEY')) {
      throw new PublicKeyError('is a private key; give the public key PEM (-----BEGIN PUBLIC KEY-----) that AWS Marketplace issued');
    }
    throw new PublicKeyError('must be a PEM public key (-----BEGIN PUBLIC KEY-----)');
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: 'pem' });
  } catch (err) {
    throw new PublicKeyError(`is not a readable PEM public key (${(err as Error).message})`);
  }
  if (key.asymmetricKeyType !== 'rsa') {
    throw new PublicKeyError(`must be an RSA key, got ${key.asymmetricKeyType ?? 'unknown'}`);
  }
  if (modulus(key) === demoModulus) {
    throw new PublicKeyError(
      "is jwt.io's public demo key, the placeholder in AWS's sample code; its private key is public. Use the key AWS Marketplace issued for your product",
    );
  }
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < MIN_RSA_BITS) {
    throw new PublicKeyError(`must be at least ${MIN_RSA_BITS} bits, got ${bits}`);
  }
  const der = key.export({ format: 'der', type: 'spki' });
  const fingerprint = `sha256:${createHash('sha256').update(der).digest('hex')}`;
  return Object.freeze({ key, pem, bits, fingerprint });
}
