/**
 * The Signature JWT RegisterUsage returns, and the deliberately broken variants a verifier must refuse
 * (plus one it must accept: AWS's PascalCase example). Valid tokens are PS256 over
 * `{ productCode, publicKeyVersion, nonce, iat }`, the claim names AWS's own sample code reads.
 */
import { randomUUID } from 'node:crypto';
import { base64url, SignJWT } from 'jose';
import type { JWTPayload } from 'jose';
import { generateRsaKeyPair } from '../keys.js';
import type { KeyPair } from '../keys.js';
import type { BadToken } from '../scenario.js';

export interface RegistrationClaims {
  readonly productCode: string;
  readonly publicKeyVersion: number;
  /** Absent when the request carried no Nonce: the claim is then left out, not sent empty. */
  readonly nonce?: string | undefined;
  /** Epoch seconds from the emulator's clock. */
  readonly iat: number;
}

const ONE_DAY_S = 86_400;

function camelCasePayload(c: RegistrationClaims): JWTPayload {
  const payload: JWTPayload = { productCode: c.productCode, publicKeyVersion: c.publicKeyVersion };
  if (c.nonce !== undefined) payload['nonce'] = c.nonce;
  payload.iat = c.iat;
  return payload;
}

export class TokenMinter {
  private readonly keys: KeyPair;
  private readonly foreignBits: number;
  /** Generated on first use only: most runs never ask for a foreign-key token. */
  private foreign: Promise<KeyPair> | undefined;

  constructor(keys: KeyPair, foreignBits: number) {
    this.keys = keys;
    this.foreignBits = foreignBits;
  }

  private async sign(payload: JWTPayload, alg: 'PS256' | 'RS256' = 'PS256', key = this.keys.privateKey): Promise<string> {
    return new SignJWT(payload).setProtectedHeader({ alg, typ: 'JWT' }).sign(key);
  }

  /** A token for the claims, valid unless `bad` names a defect. */
  async mint(claims: RegistrationClaims, bad: BadToken | null): Promise<string> {
    const valid = camelCasePayload(claims);
    switch (bad) {
      case null:
        return this.sign(valid);
      case 'tampered-signature': {
        const [header = '', payload = '', sig = ''] = (await this.sign(valid)).split('.');
        const bytes = base64url.decode(sig);
        bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 0x01;
        return `${header}.${payload}.${base64url.encode(bytes)}`;
      }
      case 'wrong-nonce':
        // With no nonce in the request, any nonce in the token is a wrong one.
        return this.sign(camelCasePayload({ ...claims, nonce: `${claims.nonce ?? ''}${randomUUID()}` }));
      case 'wrong-product-code':
        return this.sign(camelCasePayload({ ...claims, productCode: `${claims.productCode}-other-product` }));
      case 'wrong-key-version':
        return this.sign(camelCasePayload({ ...claims, publicKeyVersion: claims.publicKeyVersion + 1 }));
      case 'alg-none': {
        const enc = (o: object): string => base64url.encode(JSON.stringify(o));
        return `${enc({ alg: 'none', typ: 'JWT' })}.${enc(valid)}.`;
      }
      case 'rs256':
        return this.sign(valid, 'RS256');
      case 'hs256-public-key':
        // The classic key-confusion attack: HMAC keyed with the public key's PEM text.
        return new SignJWT(valid)
          .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
          .sign(new TextEncoder().encode(this.keys.publicKeyPem));
      case 'foreign-key': {
        this.foreign ??= generateRsaKeyPair(this.foreignBits);
        return this.sign(valid, 'PS256', (await this.foreign).privateKey);
      }
      case 'future-iat':
        return this.sign({ ...valid, iat: claims.iat + ONE_DAY_S });
      case 'missing-claims': {
        // Leaves out nonce; when the request had none, publicKeyVersion goes instead so the token is still short a claim.
        const { nonce, publicKeyVersion, ...rest } = valid;
        return this.sign(nonce === undefined ? rest : { ...rest, publicKeyVersion });
      }
      case 'pascal-case-claims': {
        const payload: JWTPayload = { ProductCode: claims.productCode, PublicKeyVersion: claims.publicKeyVersion };
        if (claims.nonce !== undefined) payload['Nonce'] = claims.nonce;
        payload.iat = claims.iat;
        return this.sign(payload);
      }
    }
  }
}
