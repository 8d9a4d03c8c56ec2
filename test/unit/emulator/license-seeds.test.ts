import { describe, expect, it } from 'vitest';
import { licenseFromSeed, licenseSeedProblems, MARKETPLACE_ISSUER } from '../../../src/emulator/license-manager/seeds.js';
import type { LicenseSeed } from '../../../src/emulator/license-manager/seeds.js';

const SEED: LicenseSeed = { beneficiaryAccountId: '111122223333', productSku: 'sku-1', entitlements: [{ name: 'Users', unit: 'Count', maxCount: 2 }] };

describe('license seeds', () => {
  it('a minimal seed gets AWS Marketplace as issuer, the emulator\'s region, AVAILABLE, validity from now, and entitlement defaults', () => {
    expect(licenseSeedProblems(SEED)).toEqual([]);
    const now = new Date('2027-06-15T12:15:00.000Z');
    const license = licenseFromSeed(SEED, { region: 'eu-west-1', now });
    expect(license).toEqual({
      licenseArn: expect.stringMatching(/^arn:aws:license-manager::294406891311:license:l-[0-9a-f]{32}$/),
      beneficiaryAccountId: '111122223333',
      productSku: 'sku-1',
      productName: null,
      issuer: { name: 'AWS/Marketplace', keyFingerprint: 'aws:294406891311:AWS/Marketplace:issuer-fingerprint' },
      homeRegion: 'eu-west-1',
      status: 'AVAILABLE',
      validity: { begin: '2027-06-15T12:15:00.000Z', end: null },
      entitlements: [{ name: 'Users', unit: 'Count', maxCount: 2, value: null, overage: false, allowCheckIn: true }],
      signed: false,
      createTime: '2027-06-15T12:15:00.000Z',
    });
    expect(licenseFromSeed(SEED, { region: 'eu-west-1', now }).licenseArn).not.toBe(license.licenseArn);
  });

  it('names every problem at once, each with its field', () => {
    expect(
      licenseSeedProblems({
        licenseArn: 'arn:aws:license-manager::1:license:x',
        beneficiaryAccountId: 111122223333,
        productSku: ' sku',
        issuer: { name: '', keyFingerprint: MARKETPLACE_ISSUER.keyFingerprint, signKey: 'k' },
        homeRegion: 'mars',
        validity: { begin: '2027-01-01', end: '2026-01-01T00:00:00Z' },
        entitlements: [{ name: 'Users', unit: 'Count', maxCount: 0 }, { name: 'Tier', unit: 'None', maxCount: 3, overage: 'yes' }, { name: 'Users', unit: 'Seats' }],
        signed: 'true',
      }),
    ).toEqual([
      'licenseArn must be arn:aws:license-manager::<12 digits>:license:l-<32 lowercase hex>',
      'beneficiaryAccountId must be a 12-digit AWS account id',
      'productSku must be 1-1024 characters without surrounding spaces (a UUID in practice)',
      'issuer.signKey is not a field; allowed: name, keyFingerprint',
      'issuer.name must be 1-255 characters',
      `issuer: only AWS Marketplace issues licenses with the fingerprint ${MARKETPLACE_ISSUER.keyFingerprint}; say issuer: 'aws-marketplace'`,
      'homeRegion must be an AWS region name such as us-east-1',
      'validity.begin must be an ISO 8601 instant with a zone, e.g. 2027-01-01T00:00:00Z',
      'entitlements[0].maxCount must be an integer >= 1',
      'entitlements[1].maxCount makes no sense with unit None (a tier is had or not)',
      'entitlements[1].overage must be true or false',
      expect.stringMatching(/^entitlements\[2\]\.unit must be one of: Count, None, Seconds, .*, Count\/Second$/),
      'entitlements: the name "Users" is listed twice',
      'signed must be true or false',
    ]);
  });

  it('validity must end after it begins; a buyer may call their issuer AWS/Marketplace, with their own fingerprint', () => {
    expect(licenseSeedProblems({ ...SEED, validity: { begin: '2027-01-01T00:00:00Z', end: '2027-01-01T00:00:00Z' } })).toEqual(['validity.end must be after validity.begin']);
    expect(licenseSeedProblems({ ...SEED, issuer: { name: 'AWS/Marketplace', keyFingerprint: 'aws:111122223333:AWS/Marketplace:issuer-fingerprint' } })).toEqual([]);
    expect(licenseSeedProblems('a license')).toEqual([expect.stringMatching(/^a license seed must be an object with: licenseArn, /)]);
  });
});
