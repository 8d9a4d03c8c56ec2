import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt, decodeProtectedHeader, importSPKI, jwtVerify } from 'jose';
import type { JWTPayload } from 'jose';
import { BAD_TOKENS } from '../../../src/emulator/index.js';
import type { BadToken } from '../../../src/emulator/index.js';
import { manualClock, meteringClient, PRODUCT, QUIET, register, startTestEmulator } from '../../helpers/emulator-requests.js';
import type { TestEmulator } from '../../helpers/emulator-requests.js';

const NONCE = 'nonce-for-tokens';

describe('badToken scenarios mint the defective tokens verifiers must handle', () => {
  const clock = manualClock(QUIET);
  const iat = Date.parse(QUIET) / 1000;
  let emulator: TestEmulator;
  let ps256: Awaited<ReturnType<typeof importSPKI>>;

  beforeAll(async () => {
    emulator = await startTestEmulator({ clock, scenario: { rateLimit: null } });
    ps256 = await importSPKI(emulator.publicKeyPem, 'PS256');
  });
  afterAll(() => emulator.close());

  /** nonce null = the request carries no Nonce. */
  async function tokenFor(badToken: BadToken | null, nonce: string | null = NONCE): Promise<string> {
    emulator.setScenario({ badToken });
    return (await register(meteringClient(emulator), { Nonce: nonce ?? undefined })).Signature ?? '';
  }
  const verified = async (token: string): Promise<JWTPayload> =>
    (await jwtVerify(token, ps256, { algorithms: ['PS256'] })).payload;

  const expectations: Record<BadToken, (token: string) => Promise<void>> = {
    'tampered-signature': async (t) => {
      expect(decodeProtectedHeader(t)).toEqual({ alg: 'PS256', typ: 'JWT' });
      expect(decodeJwt(t)).toEqual({ productCode: PRODUCT, publicKeyVersion: 1, nonce: NONCE, iat });
      await expect(verified(t)).rejects.toMatchObject({ code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });
    },
    'wrong-nonce': async (t) => {
      const p = await verified(t);
      expect(p['nonce']).toEqual(expect.any(String));
      expect(p['nonce']).not.toBe(NONCE);
      expect(p).toMatchObject({ productCode: PRODUCT, publicKeyVersion: 1 });
    },
    'wrong-product-code': async (t) => {
      const p = await verified(t);
      expect(p['productCode']).not.toBe(PRODUCT);
      expect(p).toMatchObject({ publicKeyVersion: 1, nonce: NONCE });
    },
    'wrong-key-version': async (t) => {
      expect(await verified(t)).toMatchObject({ productCode: PRODUCT, publicKeyVersion: 2, nonce: NONCE });
    },
    'alg-none': async (t) => {
      expect(decodeProtectedHeader(t)).toEqual({ alg: 'none', typ: 'JWT' });
      expect(t.endsWith('.')).toBe(true);
      expect(decodeJwt(t)).toMatchObject({ productCode: PRODUCT, nonce: NONCE });
      await expect(verified(t)).rejects.toThrow();
    },
    rs256: async (t) => {
      expect(decodeProtectedHeader(t).alg).toBe('RS256');
      // Signed by the emulator's own key, so only pinning PS256 rejects it.
      const rs = await jwtVerify(t, await importSPKI(emulator.publicKeyPem, 'RS256'), { algorithms: ['RS256'] });
      expect(rs.payload).toMatchObject({ productCode: PRODUCT, nonce: NONCE });
      await expect(verified(t)).rejects.toMatchObject({ code: 'ERR_JOSE_ALG_NOT_ALLOWED' });
    },
    'hs256-public-key': async (t) => {
      expect(decodeProtectedHeader(t).alg).toBe('HS256');
      const hs = await jwtVerify(t, new TextEncoder().encode(emulator.publicKeyPem), { algorithms: ['HS256'] });
      expect(hs.payload).toMatchObject({ productCode: PRODUCT, nonce: NONCE });
      await expect(verified(t)).rejects.toMatchObject({ code: 'ERR_JOSE_ALG_NOT_ALLOWED' });
    },
    'foreign-key': async (t) => {
      expect(decodeProtectedHeader(t)).toEqual({ alg: 'PS256', typ: 'JWT' });
      expect(decodeJwt(t)).toEqual({ productCode: PRODUCT, publicKeyVersion: 1, nonce: NONCE, iat });
      await expect(verified(t)).rejects.toMatchObject({ code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });
    },
    'future-iat': async (t) => {
      expect(decodeJwt(t)).toEqual({ productCode: PRODUCT, publicKeyVersion: 1, nonce: NONCE, iat: iat + 86_400 });
      // jose itself does not judge iat in the future; a verifier must (the signature is fine).
      await expect(verified(t)).resolves.toBeDefined();
    },
    'missing-claims': async (t) => {
      const p = await verified(t);
      expect(p).not.toHaveProperty('nonce');
      expect(p).toMatchObject({ productCode: PRODUCT, publicKeyVersion: 1 });
    },
    'pascal-case-claims': async (t) => {
      expect(await verified(t)).toEqual({ ProductCode: PRODUCT, PublicKeyVersion: 1, Nonce: NONCE, iat });
    },
  };

  it.each(BAD_TOKENS.map((b) => [b]))('%s', async (badToken) => {
    await expectations[badToken](await tokenFor(badToken));
  });

  it('without badToken the same request gets a token that verifies with exactly the request claims', async () => {
    expect(await verified(await tokenFor(null))).toEqual({ productCode: PRODUCT, publicKeyVersion: 1, nonce: NONCE, iat });
  });

  it('missing-claims still leaves a claim out when the request had no nonce', async () => {
    const p = await verified(await tokenFor('missing-claims', null));
    expect(p).toEqual({ productCode: PRODUCT, iat });
  });

  it('wrong-nonce puts a nonce in the token even when the request had none', async () => {
    expect(typeof (await verified(await tokenFor('wrong-nonce', null)))['nonce']).toBe('string');
  });
});
