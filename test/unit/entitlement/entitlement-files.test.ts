/**
 * What an app's library calls say about the entitlement file: verifyEntitlementFile for an hourly
 * product's file, checkLicenseEntitlementFile for a contract product's, each refusing the other's and
 * anything that is not a file the sidecar wrote.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AWS_MARKETPLACE_KEY_FINGERPRINT, checkLicenseEntitlementFile, EntitlementFileError, verifyEntitlementFile } from '../../../src/index.js';
import type { LicenseRecord } from '../../../src/entitlement/file.js';
import { mintToken, rsaKeyPair } from '../../helpers/keys.js';

const NOW = new Date('2027-06-15T12:15:00.000Z');
const SKU = '6b4f0d5e-1c2a-4e8f-9d3b-7a6c5e4d3b2a';
const ARN = 'arn:aws:license-manager::294406891311:license:l-0123456789abcdef0123456789abcdef';
const dir = mkdtempSync(join(tmpdir(), 'entitlement-files-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const issuer = rsaKeyPair();
const product = rsaKeyPair();

const license = (over: Partial<Record<keyof LicenseRecord, unknown>> = {}): Record<string, unknown> => ({
  source: 'license-manager',
  productSku: SKU,
  licenseArn: ARN,
  checkoutType: 'PROVISIONAL',
  keyFingerprint: AWS_MARKETPLACE_KEY_FINGERPRINT,
  entitlements: [{ name: 'PremiumTier', unit: 'None', value: null }],
  issuedAt: '2027-06-15T12:00:00.000Z',
  expiration: '2027-06-15T13:00:00.000Z',
  checkedAt: '2027-06-15T12:10:00.000Z',
  stale: false,
  signedToken: null,
  signedTokenVerified: false,
  ...over,
});

async function reasonOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'valid';
  } catch (err) {
    if (err instanceof EntitlementFileError) return err.reason;
    throw err;
  }
}

describe('checkLicenseEntitlementFile', () => {
  const at = (name: string, content: unknown) => {
    const file = join(dir, name);
    writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
    return file;
  };
  const check = (file: string, options: Partial<Parameters<typeof checkLicenseEntitlementFile>[1]> = {}) =>
    reasonOf(checkLicenseEntitlementFile(file, { productSku: SKU, now: NOW, ...options }));

  it('returns the tier, the license and its freshness for a file the sidecar writes', async () => {
    const got = await checkLicenseEntitlementFile(at('ok.json', license()), { productSku: SKU, now: NOW });
    expect(got).toEqual({
      productSku: SKU,
      licenseArn: ARN,
      checkoutType: 'PROVISIONAL',
      entitlements: [{ name: 'PremiumTier', unit: 'None', value: null }],
      checkedAt: new Date('2027-06-15T12:10:00.000Z'),
      expiration: new Date('2027-06-15T13:00:00.000Z'),
      stale: false,
      signedTokenVerified: false,
    });
    // Stale is reported and still valid; a bound on its age is the app's choice.
    const stale = at('stale.json', license({ stale: true }));
    expect((await checkLicenseEntitlementFile(stale, { productSku: SKU, now: NOW })).stale).toBe(true);
    expect(await check(stale, { maxAgeMs: 60_000 })).toBe('stale');
    expect(await check(stale, { maxAgeMs: 10 * 60_000 })).toBe('valid');
  });

  it.each([
    ['another product', license({ productSku: 'aaaaaaaa-1c2a-4e8f-9d3b-7a6c5e4d3b2a' }), 'product_sku_mismatch'],
    ['a license a buyer issued to themselves', license({ keyFingerprint: 'aws:111122223333:buyer:issuer-fingerprint' }), 'key_fingerprint_mismatch'],
    ['no fingerprint', license({ keyFingerprint: undefined }), 'malformed'],
    ['no stale flag', license({ stale: undefined }), 'malformed'],
    ['an expiration that is not RFC 3339', license({ expiration: 'Tue, 15 Jun 2027 13:00:00 GMT' }), 'malformed'],
    ['a seat past its expiration (the sidecar is gone)', license({ expiration: '2027-06-15T12:15:00.000Z' }), 'expired'],
    ['an hourly product file', { source: 'register-usage', productCode: 'p', publicKeyVersion: 1, nonce: 'n', signature: 's' }, 'wrong_source'],
    ['a file without source', { productCode: 'p', publicKeyVersion: 1, nonce: 'n', signature: 's' }, 'wrong_source'],
    ['a source that is no source', license({ source: 'marketplace' }), 'malformed'],
    ['no entitlements', license({ entitlements: [] }), 'malformed'],
    ['an entitlement without unit', license({ entitlements: [{ name: 'PremiumTier', value: null }] }), 'malformed'],
    ['an unreadable expiration', license({ expiration: 'soon' }), 'malformed'],
    ['another checkout type', license({ checkoutType: 'FLOATING' }), 'malformed'],
    ['JSON null', 'null', 'malformed'],
    ['an array', '[]', 'malformed'],
    ['not JSON', '{"source":', 'malformed'],
  ])('refuses %s (%s)', async (name, content, reason) => {
    expect(await check(at(`${name.replace(/\W+/g, '-')}.json`, content))).toBe(reason);
  });

  it('refuses a SKU outside the trusted list', async () => {
    expect(await check(at('t.json', license()), { trustedProductSkus: ['aaaaaaaa-1c2a-4e8f-9d3b-7a6c5e4d3b2a'] })).toBe('untrusted_product_sku');
    expect(await check(at('t.json', license()), { trustedProductSkus: [SKU] })).toBe('valid');
  });

  it('refuses a link, a FIFO and a huge file without following, blocking or reading it all', async () => {
    const target = at('target.json', license());
    symlinkSync(target, join(dir, 'link.json'));
    expect(await check(join(dir, 'link.json'))).toBe('unreadable');
    execFileSync('mkfifo', [join(dir, 'fifo.json')]);
    expect(await check(join(dir, 'fifo.json'))).toBe('unreadable');
    expect(await check(at('huge.json', `${JSON.stringify(license())}${' '.repeat(70 * 1024)}`))).toBe('unreadable');
  });

  describe('with the issuer key, the SignedToken must verify and name this license', () => {
    const signed = async (claims: Record<string, unknown>, alg = 'PS384', key = issuer.privateKey) =>
      at('signed.json', license({ signedToken: await mintToken(key, claims, alg), signedTokenVerified: true }));
    const withKey = { licensePublicKey: issuer.publicPem };

    it('accepts a token with the claims of AWS sample (licenseArn, no product claim)', async () => {
      const file = await signed({ licenseArn: ARN, licenseConsumptionToken: 'c', entitlementsAllowed: [{ name: 'PremiumTier', unit: 'None' }] });
      expect((await checkLicenseEntitlementFile(file, { productSku: SKU, now: NOW, ...withKey })).signedTokenVerified).toBe(true);
      // Without the key nothing is verified, whatever the file claims.
      expect((await checkLicenseEntitlementFile(file, { productSku: SKU, now: NOW })).signedTokenVerified).toBe(false);
    });

    it.each([
      ['no token', async () => at('none.json', license()), 'signed_token_missing'],
      ['another license', async () => signed({ licenseArn: `${ARN}x` }), 'license_arn_mismatch'],
      ['another product', async () => signed({ licenseArn: ARN, ProductSKU: 'aaaaaaaa-1c2a-4e8f-9d3b-7a6c5e4d3b2a' }), 'product_sku_mismatch'],
      ['two spellings of the product that disagree', async () => signed({ licenseArn: ARN, productSku: SKU, ProductSKU: 'other' }), 'claims_conflict'],
      ['no license claim', async () => signed({ productSku: SKU }), 'claims_missing'],
      ['an iat ten minutes ahead', async () => signed({ licenseArn: ARN, iat: NOW.getTime() / 1000 + 600 }), 'issued_in_future'],
      ['an exp passed', async () => signed({ licenseArn: ARN, exp: NOW.getTime() / 1000 - 1 }), 'expired'],
      ['PS256 instead of PS384', async () => signed({ licenseArn: ARN }, 'PS256'), 'algorithm'],
      ['another key', async () => signed({ licenseArn: ARN }, 'PS384', product.privateKey), 'signature'],
    ])('refuses %s', async (_name, make, reason) => {
      expect(await check(await make(), withKey)).toBe(reason);
    });

    it('says which argument is wrong for a key that is no PEM', async () => {
      await expect(checkLicenseEntitlementFile(at('k.json', license()), { productSku: SKU, now: NOW, licensePublicKey: 'not a key' })).rejects.toThrow(/licensePublicKey is not a PEM public key/);
    });
  });
});

describe('verifyEntitlementFile refuses what is not an hourly product file', () => {
  it.each([
    ['a contract product file', license(), 'wrong_source'],
    ['a source that is no source', { source: 7, productCode: 'p', publicKeyVersion: 1, nonce: 'n', signature: 's' }, 'malformed'],
    ['JSON null', null, 'malformed'],
    ['an array', [], 'malformed'],
    ['a number', 7, 'malformed'],
  ])('%s: %s', async (_name, content, reason) => {
    const file = join(dir, `f-${typeof content}-${JSON.stringify(content).length}.json`);
    writeFileSync(file, JSON.stringify(content));
    expect(await reasonOf(verifyEntitlementFile(file, { publicKey: product.publicPem, now: NOW }))).toBe(reason);
  });
});
