/**
 * The emulator's signing key pair, made fresh at every start: a committed private key would be a
 * key anyone could mint "entitled" tokens with.
 */
import { generateKeyPair } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { promisify } from 'node:util';

const generate = promisify(generateKeyPair);

export interface KeyPair {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** SubjectPublicKeyInfo PEM, the form AWS Marketplace hands sellers. */
  readonly publicKeyPem: string;
}

/** RSA key pair; PS256 needs at least 2048 bits, real product keys are 3072. */
export async function generateRsaKeyPair(bits: number): Promise<KeyPair> {
  if (!Number.isSafeInteger(bits) || bits < 2048 || bits > 8192) {
    throw new RangeError(`keyBits must be an integer from 2048 to 8192 (PS256 needs >= 2048); got ${bits}`);
  }
  const { privateKey, publicKey } = await generate('rsa', { modulusLength: bits, publicExponent: 0x10001 });
  return { privateKey, publicKey, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}
