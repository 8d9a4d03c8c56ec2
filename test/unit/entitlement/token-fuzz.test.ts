import { describe, expect, it } from 'vitest';
import { verifyRegistrationToken } from '../../../src/entitlement/token.js';
import { mintToken, rsaKeyPair } from '../../helpers/keys.js';

/** A small seeded PRNG (mulberry32) so a failure can be replayed from the printed seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const product = rsaKeyPair();
const expected = { productCode: 'prod-abc123', publicKeyVersion: 1, nonce: 'nonce-0123456789' };
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

type Mutation = (token: string, r: () => number) => string;
const pick = <T>(xs: ArrayLike<T>, r: () => number): T => xs[Math.floor(r() * xs.length)] as T;
const b64 = (s: string) => Buffer.from(s).toString('base64url');
/** A segment's JSON object, or undefined when an earlier mutation already broke it. */
const json = (s: string | undefined): Record<string, unknown> | undefined => {
  try {
    const v = JSON.parse(Buffer.from(s ?? '', 'base64url').toString('utf8')) as unknown;
    return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
};

const MUTATIONS: Record<string, Mutation> = {
  flipCharacter: (t, r) => {
    const i = Math.floor(r() * t.length);
    if (t[i] === '.') return t.slice(0, i) + 'A' + t.slice(i + 1);
    const c = pick(B64URL.replace(t[i] as string, ''), r);
    return t.slice(0, i) + c + t.slice(i + 1);
  },
  truncate: (t, r) => t.slice(0, Math.floor(r() * (t.length - 1))),
  dropSegment: (t, r) => {
    const parts = t.split('.');
    parts.splice(Math.floor(r() * 3), 1);
    return parts.join('.');
  },
  swapSegments: (t) => {
    const [h, p, s] = t.split('.');
    return `${p}.${h}.${s}`;
  },
  appendGarbage: (t, r) => t + Array.from({ length: 1 + Math.floor(r() * 8) }, () => pick(B64URL, r)).join(''),
  changeAlg: (t, r) => {
    const [h, p, s] = t.split('.');
    const header = json(h);
    if (header === undefined) return `${b64('{"alg":"none"}')}.${p}.${s}`;
    header.alg = pick(['none', 'RS256', 'HS256', 'PS384', 'PS512', 'ES256', 'ps256', 'PS256 ', ''], r);
    return `${b64(JSON.stringify(header))}.${p}.${s}`;
  },
  editClaim: (t, r) => {
    const [h, p, s] = t.split('.');
    const claims = json(p);
    if (claims === undefined) return `${h}.${b64('{}')}.${s}`;
    const key = pick(['productCode', 'publicKeyVersion', 'nonce', 'iat'], r);
    claims[key] = pick(['prod-abc124', 2, 0, '1', null, 'nonce-0123456780', 9_999_999_999, { a: 1 }], r);
    return `${h}.${b64(JSON.stringify(claims))}.${s}`;
  },
  addHeaderField: (t, r) => {
    const [h, p, s] = t.split('.');
    const header = json(h);
    if (header === undefined) return `${b64('{"alg":"PS256","crit":["exp"]}')}.${p}.${s}`;
    header[pick(['crit', 'jku', 'jwk', 'kid', 'b64'], r)] = pick([['exp'], 'https://attacker.invalid/jwks', false, { kty: 'oct' }], r);
    return `${b64(JSON.stringify(header))}.${p}.${s}`;
  },
  reuseSignatureOfAnotherToken: (t) => t, // replaced below with a real second token
};

/** The verifier's clock and the token's iat, fixed: the outcome must not depend on when the suite runs. */
const NOW = new Date('2026-11-23T12:00:00Z');
const IAT = NOW.getTime() / 1000 - 1;

describe('token fuzzing', () => {
  it('accepts the unmutated token (the oracle is sound)', async () => {
    const token = await mintToken(product.privateKey, { ...expected, iat: IAT });
    await expect(verifyRegistrationToken(token, product.publicKey, expected, { now: NOW })).resolves.toBeTruthy();
  });

  it('accepts no token among 3000 random mutations of a valid one', async () => {
    // A fixed seed keeps CI reproducible; FUZZ_SEED explores others (`FUZZ_SEED=$RANDOM npx vitest run test/verify-fuzz.test.ts`).
    const seed = Number(process.env.FUZZ_SEED ?? 20_261_123);
    const r = prng(seed);
    const token = await mintToken(product.privateKey, { ...expected, iat: IAT });
    const other = await mintToken(product.privateKey, { ...expected, nonce: 'another-nonce', iat: IAT });
    const names = Object.keys(MUTATIONS);
    const accepted: string[] = [];
    const tried: Record<string, number> = {};
    for (let i = 0; i < 3000; i++) {
      let mutated = token;
      const steps = 1 + Math.floor(r() * 3);
      const applied: string[] = [];
      for (let k = 0; k < steps; k++) {
        const name = pick(names, r);
        applied.push(name);
        mutated =
          name === 'reuseSignatureOfAnotherToken'
            ? `${mutated.split('.').slice(0, 2).join('.')}.${other.split('.')[2]}`
            : (MUTATIONS[name] as Mutation)(mutated, r);
      }
      if (mutated === token) continue;
      for (const a of applied) tried[a] = (tried[a] ?? 0) + 1;
      const ok = await verifyRegistrationToken(mutated, product.publicKey, expected, { now: NOW }).then(
        () => true,
        () => false,
      );
      if (ok) accepted.push(`${applied.join('+')}: ${mutated}`);
    }
    expect(accepted, `seed ${seed}`).toEqual([]);
    // Every mutation kind was exercised.
    expect(Object.keys(tried).sort()).toEqual(names.sort());
  });
});
