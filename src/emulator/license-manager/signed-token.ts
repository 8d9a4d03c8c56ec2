/**
 * The SignedToken CheckoutLicense answers for a `signed` license: a JWT, RSASSA-PSS with SHA-384
 * (JWT_PS384, the only DigitalSignatureMethod License Manager has), signed with the issuer's key. On
 * AWS that is the issuer's asymmetric KMS key (`Issuer.SignKey`); here it is a key pair made at start,
 * whose public half tests get as `licenseIssuerPublicKeyPem`.
 *
 * Claims, as AWS's sample (aws-samples/aws-license-manager-license-consumption-sample) shows a
 * decoded token: licenseArn, licenseConsumptionToken, entitlementsAllowed [{name, value?, unit}],
 * nodeId (when the request had one), issuedAt and expiration as `YYYY-MM-DDTHH:MM:SS` (UTC, no zone
 * letter, as in the sample); plus checkoutType, which CheckoutLicense's answer has and the sample's
 * CheckoutBorrowLicense does not. No `iat`/`exp`: the sample's token has none.
 */
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import type { KeyPair } from '../keys.js';
import { MARKETPLACE_ACCOUNT } from './seeds.js';
import type { CheckoutType } from './shapes.js';

export interface SignedTokenClaims {
  readonly licenseArn: string;
  readonly licenseConsumptionToken: string;
  readonly entitlementsAllowed: readonly { readonly name: string; readonly value?: string; readonly unit: string }[];
  readonly nodeId?: string;
  readonly checkoutType: CheckoutType;
  /** Epoch ms. */
  readonly issuedAt: number;
  readonly expiration: number;
}

/** `2021-04-13T05:35:47`: the sample's spelling of an instant. */
const sampleTime = (ms: number): string => new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19);

export class LicenseIssuer {
  readonly publicKeyPem: string;
  private readonly keys: KeyPair;
  private readonly keyId = randomUUID();

  constructor(keys: KeyPair) {
    this.keys = keys;
    this.publicKeyPem = keys.publicKeyPem;
  }

  /** The KMS key ARN GetLicense shows as `Issuer.SignKey` of a signed license. */
  signKeyArn(region: string): string {
    return `arn:aws:kms:${region}:${MARKETPLACE_ACCOUNT}:key/${this.keyId}`;
  }

  async sign(c: SignedTokenClaims): Promise<string> {
    const payload: Record<string, unknown> = {
      licenseArn: c.licenseArn,
      licenseConsumptionToken: c.licenseConsumptionToken,
      entitlementsAllowed: c.entitlementsAllowed.map((e) => ({ name: e.name, ...(e.value === undefined ? {} : { value: e.value }), unit: e.unit })),
      ...(c.nodeId === undefined ? {} : { nodeId: c.nodeId }),
      checkoutType: c.checkoutType,
      issuedAt: sampleTime(c.issuedAt),
      expiration: sampleTime(c.expiration),
    };
    return new SignJWT(payload).setProtectedHeader({ alg: 'PS384', typ: 'JWT' }).sign(this.keys.privateKey);
  }
}
