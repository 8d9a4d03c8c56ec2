import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { SignJWT, type JWTPayload } from 'jose';

export interface TestKeyPair {
  readonly publicKey: KeyObject;
  readonly privateKey: KeyObject;
  readonly publicPem: string;
}

/** A fresh RSA key pair; tests mint their own PS256 tokens since no real AWS token is public. */
export function rsaKeyPair(bits = 2048): TestKeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  return { publicKey, privateKey, publicPem: publicKey.export({ format: 'pem', type: 'spki' }).toString() };
}

export function mintToken(key: KeyObject, payload: JWTPayload, alg = 'PS256', header: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ typ: 'JWT', ...header, alg }).sign(key);
}
