import { describe, expect, it } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import { parseProductPublicKey } from '../../../src/entitlement/public-key.js';
import { rsaKeyPair } from '../../helpers/keys.js';

const JWT_IO_DEMO_KEY = `-----BEGIN PUBLIC KEY-----
MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDdlatRjRjogo3WojgGHFHYLugd
UWAY9iR3fy4arWNA1KoS8kVw33cJibXr8bvwUAUparCwlvdbH6dvEOfou0/gCFQs
HUfQrSDv+MuSUMAe8jzKE4qW+jK+xQU9a03GUnKHkkle+Q0pX/g6jXZ7r1/xAK5D
o2kQ+X5xK9cipRgEKwIDAQAB
-----END PUBLIC KEY-----`;

describe('parseProductPublicKey', () => {
  it('accepts a 3072-bit RSA SPKI PEM, as AWS issues, and fingerprints it', () => {
    const k = rsaKeyPair(3072);
    const parsed = parseProductPublicKey(k.publicPem);
    expect(parsed.bits).toBe(3072);
    expect(parsed.fingerprint).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it("refuses jwt.io's demo key from AWS's sample code by name", () => {
    expect(() => parseProductPublicKey(JWT_IO_DEMO_KEY)).toThrow(/jwt\.io's public demo key/);
  });

  it('refuses RSA keys under 2048 bits', () => {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    expect(() => parseProductPublicKey(publicKey.export({ format: 'pem', type: 'spki' }).toString())).toThrow('at least 2048 bits, got 1024');
  });

  it('refuses a non-RSA key, a private key and garbage', () => {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    expect(() => parseProductPublicKey(publicKey.export({ format: 'pem', type: 'spki' }).toString())).toThrow('must be an RSA key, got ec');
    expect(() => parseProductPublicKey(privateKey.export({ format: 'pem', type: 'pkcs8' }).toString())).toThrow('is a private key');
    expect(() => parseProductPublicKey('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----')).toThrow('is not a readable PEM public key');
  });
});
