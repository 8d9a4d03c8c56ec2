import { createHmac, createSign, constants, sign } from 'node:crypto';
import type { JWTPayload } from 'jose';
import { describe, expect, it } from 'vitest';
import { TokenVerificationError, verifyRegistrationToken } from '../../../src/entitlement/token.js';
import { mintToken, rsaKeyPair } from '../../helpers/keys.js';

const product = rsaKeyPair();
const other = rsaKeyPair();
const expected = { productCode: 'prod-abc123', publicKeyVersion: 1, nonce: 'n-1' };
const claims = { productCode: 'prod-abc123', publicKeyVersion: 1, nonce: 'n-1' };
const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
/** The verifier's clock, injected: no test here depends on the wall clock. */
const NOW = new Date('2026-11-23T12:00:00Z');
const NOW_S = NOW.getTime() / 1000;

async function failure(token: string): Promise<TokenVerificationError> {
  const err = await verifyRegistrationToken(token, product.publicKey, expected, { now: NOW }).then(() => undefined, (e: unknown) => e);
  if (!(err instanceof TokenVerificationError)) throw new Error(`expected a TokenVerificationError, got ${String(err)}`);
  return err;
}

async function reason(token: string, exp = expected, now = NOW): Promise<string> {
  try {
    await verifyRegistrationToken(token, product.publicKey, exp, { now });
  } catch (err) {
    if (err instanceof TokenVerificationError) return `${err.code}:${err.reason}`;
    throw err;
  }
  return 'accepted';
}

describe('verifyRegistrationToken', () => {
  it('accepts a PS256 token whose claims repeat the request', async () => {
    const iat = NOW_S - 2;
    const v = await verifyRegistrationToken(await mintToken(product.privateKey, { ...claims, iat }), product.publicKey, expected, { now: NOW });
    expect(v).toEqual({ ...claims, issuedAt: new Date(iat * 1000) });
  });

  it("tolerates the PascalCase claims of AWS's API reference example", async () => {
    const token = await mintToken(product.privateKey, { ProductCode: 'prod-abc123', PublicKeyVersion: 1, Nonce: 'n-1' });
    expect(await reason(token)).toBe('accepted');
  });

  it('refuses a token whose two spellings of a claim disagree, and says so rather than "lacks productCode"', async () => {
    const token = await mintToken(product.privateKey, { ...claims, ProductCode: 'someone-else' });
    expect(await reason(token)).toBe('TOKEN_INVALID:claims_conflict');
    expect((await failure(token)).message).toMatch(/productCode string "prod-abc123" but ProductCode string "someone-else"/);
  });

  it('refuses a signature made with another key', async () => {
    expect(await reason(await mintToken(other.privateKey, claims))).toBe('TOKEN_INVALID:signature');
  });

  it('refuses a tampered payload', async () => {
    const token = await mintToken(product.privateKey, claims);
    const [h, , s] = token.split('.');
    expect(await reason(`${h}.${b64({ ...claims, nonce: 'n-2' })}.${s}`, { ...expected, nonce: 'n-2' })).toBe('TOKEN_INVALID:signature');
  });

  it('refuses alg none', async () => {
    expect(await reason(`${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`)).toBe('TOKEN_INVALID:algorithm');
  });

  it('refuses RS256 signed by the right key', async () => {
    expect(await reason(await mintToken(product.privateKey, claims, 'RS256'))).toBe('TOKEN_INVALID:algorithm');
  });

  it('refuses HS256 keyed with the public PEM (the algorithm-confusion attack)', async () => {
    const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}`;
    const mac = createHmac('sha256', product.publicPem).update(input).digest('base64url');
    expect(await reason(`${input}.${mac}`)).toBe('TOKEN_INVALID:algorithm');
  });

  it('refuses a PS256 header over an RS256 (PKCS#1 v1.5) signature', async () => {
    const input = `${b64({ alg: 'PS256', typ: 'JWT' })}.${b64(claims)}`;
    const sig = createSign('sha256').update(input).sign(product.privateKey).toString('base64url');
    expect(await reason(`${input}.${sig}`)).toBe('TOKEN_INVALID:signature');
  });

  it('accepts a PSS signature with salt length 32 made without jose', async () => {
    const input = `${b64({ alg: 'PS256', typ: 'JWT' })}.${b64(claims)}`;
    const sig = sign('sha256', Buffer.from(input), {
      key: product.privateKey,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: 32,
    }).toString('base64url');
    expect(await reason(`${input}.${sig}`)).toBe('accepted');
  });

  it.each([
    ['productCode', { ...claims, productCode: 'prod-free' }, 'TOKEN_MISMATCH:product_code_mismatch'],
    ['publicKeyVersion', { ...claims, publicKeyVersion: 2 }, 'TOKEN_MISMATCH:public_key_version_mismatch'],
    ['nonce', { ...claims, nonce: 'replayed' }, 'TOKEN_MISMATCH:nonce_mismatch'],
  ])('refuses a token whose %s differs from the request', async (_name, payload, expectedReason) => {
    expect(await reason(await mintToken(product.privateKey, payload))).toBe(expectedReason);
  });

  it.each([
    ['nonce', { productCode: 'prod-abc123', publicKeyVersion: 1 }],
    ['productCode', { publicKeyVersion: 1, nonce: 'n-1' }],
    ['publicKeyVersion', { productCode: 'prod-abc123', nonce: 'n-1' }],
  ])('refuses a token without %s', async (_name, payload) => {
    expect(await reason(await mintToken(product.privateKey, payload))).toBe('TOKEN_INVALID:claims_missing');
  });

  it.each([
    ['a publicKeyVersion that is not a number', { ...claims, publicKeyVersion: 'one' }, /publicKeyVersion is a string "one", not an integer/],
    ['a productCode that is not a string', { ...claims, productCode: 42 }, /productCode is a number 42, not a string/],
    ['a string iat (not "expired")', { ...claims, iat: '1764547200' }, /iat/],
    ['an iat of 1e20, past any representable time', { ...claims, iat: 1e20 }, /iat 100000000000000000000 is not a representable time/],
    ['an iat of -1e13', { ...claims, iat: -1e13 }, /is not a representable time/],
  ])('refuses %s as claims_invalid, naming the claim', async (_name, payload, message) => {
    const token = await mintToken(product.privateKey, payload as JWTPayload);
    expect(await reason(token)).toBe('TOKEN_INVALID:claims_invalid');
    expect((await failure(token)).message).toMatch(message);
  });

  it('calls an nbf in the future "expired" (not yet valid), as before', async () => {
    const now = new Date('2026-11-23T12:00:00Z');
    const nbf = Math.floor(now.getTime() / 1000) + 3600;
    expect(await reason(await mintToken(product.privateKey, { ...claims, nbf }), expected, now)).toBe('TOKEN_INVALID:expired');
  });

  it('refuses an iat far in the future and allows a little clock skew', async () => {
    const now = new Date('2026-11-23T12:00:00Z');
    const at = (s: number) => Math.floor(now.getTime() / 1000) + s;
    expect(await reason(await mintToken(product.privateKey, { ...claims, iat: at(86_400) }), expected, now)).toBe('TOKEN_INVALID:issued_in_future');
    expect(await reason(await mintToken(product.privateKey, { ...claims, iat: at(60) }), expected, now)).toBe('accepted');
  });

  it('refuses a second spelling of a valid token (a signature character changed only in its unused bits)', async () => {
    const token = await mintToken(product.privateKey, claims);
    expect(await reason(token)).toBe('accepted');
    const [h, p, sig] = token.split('.') as [string, string, string];
    // 256 signature bytes leave 4 unused bits in the last character: flipping one keeps the same bytes.
    const last = sig.at(-1) as string;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const twin = alphabet[alphabet.indexOf(last) ^ 1] as string;
    const respelled = `${h}.${p}.${sig.slice(0, -1)}${twin}`;
    expect(Buffer.from(respelled.split('.')[2] as string, 'base64url')).toEqual(Buffer.from(sig, 'base64url'));
    expect(await reason(respelled)).toBe('TOKEN_INVALID:malformed');
    expect(await reason(`${token}==`)).toBe('TOKEN_INVALID:malformed');
  });

  it('refuses an expired token and garbage', async () => {
    const past = NOW_S - 60;
    expect(await reason(await mintToken(product.privateKey, { ...claims, exp: past }))).toBe('TOKEN_INVALID:expired');
    expect(await reason('not-a-token')).toBe('TOKEN_INVALID:malformed');
    // Correctly signed, but the payload is not a JSON claims set.
    const input = `${b64({ alg: 'PS256' })}.${Buffer.from('not json').toString('base64url')}`;
    const sig = sign('sha256', Buffer.from(input), { key: product.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
    expect(await reason(`${input}.${sig.toString('base64url')}`)).toBe('TOKEN_INVALID:malformed');
  });
});
