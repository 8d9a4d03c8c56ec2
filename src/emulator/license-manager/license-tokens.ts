/**
 * Containers Anywhere's tokens. Off AWS, a buyer gets a long-lived **license token** (License
 * Manager's CreateToken: a JWT, the `license_token` of the `aws-marketplace-license-config` Secret);
 * GetAccessToken trades it for an **access token** (a JWT of one hour) that STS takes as the web
 * identity token of AssumeRoleWithWebIdentity. Here a test issues license tokens (admin endpoint or
 * `issueLicenseToken`) and may revoke them.
 *
 * Both are JWTs signed HS256 with a secret made at start: only the emulator ever verifies them, as
 * only AWS verifies AWS's, and it also looks each one up (a token it did not issue, or one it issued
 * to another emulator, is refused even with a good signature). Claims follow CreateToken's model: the
 * license ARN in `aud`, TokenProperties in `amr`, the roles embedded; the access token's `amr` carries
 * `aws:license-manager:token-issuer-account-id:<account>`, what a consumption role's trust condition
 * tests.
 */
import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';

export const LICENSE_TOKEN_ISSUER = 'https://license-manager.amazonaws.com';
export const ACCESS_TOKEN_ISSUER = 'https://openid-license-manager.amazonaws.com';
/** The federated principal a consumption role trusts. */
export const OIDC_PROVIDER = 'openid-license-manager.amazonaws.com';
export const DEFAULT_LICENSE_TOKEN_DAYS = 365;
export const MAX_LICENSE_TOKEN_SECONDS = 3650 * 86_400;
export const issuerAccountClaim = (account: string): string => `aws:license-manager:token-issuer-account-id:${account}`;

export interface LicenseTokenRequest {
  /** 12 digits: the buyer whose license the token is for (the token issuer's account). */
  accountId: string;
  /** The IAM role embedded in the token, which AssumeRoleWithWebIdentity is then called with. */
  roleArn: string;
  /** Default 365 days, as CreateToken's ExpirationInDays. */
  expiresInSeconds?: number;
  /** The license the token is for (its `aud`). */
  licenseArn?: string;
  /** CreateToken's TokenProperties (its `amr`); GetAccessToken may ask that they be present. */
  tokenProperties?: string[];
}

export interface IssuedLicenseToken {
  licenseToken: string;
  roleArn: string;
  /** ISO 8601, by the emulator's clock. */
  expiresAt: string;
}

interface LicenseToken {
  readonly id: string;
  readonly accountId: string;
  readonly roleArn: string;
  readonly licenseArn: string | null;
  readonly properties: readonly string[];
  readonly expiresAt: number;
  revoked: boolean;
}

/** What an access token stands for: its license token, and when it expires. */
export interface AccessGrant {
  readonly id: string;
  readonly licenseTokenId: string;
  readonly accountId: string;
  /** Epoch ms. */
  readonly expiresAt: number;
  /** The `sub` STS answers as SubjectFromWebIdentityToken. */
  readonly subject: string;
}

export type Redeemed<T> = { ok: true; value: T } | { ok: false; why: 'invalid' | 'expired' | 'revoked'; expiresAt?: number };

const ROLE_ARN = /^arn:aws:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;
const FIELDS = ['accountId', 'roleArn', 'expiresInSeconds', 'licenseArn', 'tokenProperties'] as const;

/** Every problem with a license token request from untrusted input, each naming its field. */
export function licenseTokenRequestProblems(input: unknown): string[] {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return [`a license token request must be an object with: ${FIELDS.join(', ')}`];
  const o = input as Record<string, unknown>;
  const problems = Object.keys(o).filter((k) => !(FIELDS as readonly string[]).includes(k)).map((k) => `${k} is not a field; allowed: ${FIELDS.join(', ')}`);
  if (!(typeof o['accountId'] === 'string' && /^\d{12}$/.test(o['accountId']))) problems.push('accountId must be a 12-digit AWS account id');
  if (!(typeof o['roleArn'] === 'string' && ROLE_ARN.test(o['roleArn']))) problems.push('roleArn must be an IAM role ARN, arn:aws:iam::<12 digits>:role/<name>');
  const life = o['expiresInSeconds'];
  if (life !== undefined && !(typeof life === 'number' && Number.isSafeInteger(life) && life >= 1 && life <= MAX_LICENSE_TOKEN_SECONDS)) {
    problems.push(`expiresInSeconds must be an integer from 1 to ${MAX_LICENSE_TOKEN_SECONDS}`);
  }
  if (o['licenseArn'] !== undefined && !(typeof o['licenseArn'] === 'string' && o['licenseArn'].startsWith('arn:aws:license-manager::'))) problems.push('licenseArn must be a license ARN');
  const props = o['tokenProperties'];
  if (props !== undefined && !(Array.isArray(props) && props.length <= 3 && props.every((p) => typeof p === 'string' && p.length >= 1 && p.length <= 255))) {
    problems.push('tokenProperties must be a list of at most 3 strings of 1-255 characters');
  }
  return problems;
}

const b64 = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');

export class LicenseTokens {
  private readonly secret = randomBytes(32);
  private tokens = new Map<string, LicenseToken>();
  private grants = new Map<string, AccessGrant>();

  private sign(claims: Record<string, unknown>): string {
    const unsigned = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}`;
    return `${unsigned}.${createHmac('sha256', this.secret).update(unsigned).digest('base64url')}`;
  }

  /** The claims of a token this emulator signed; undefined for anything else. */
  private verify(token: string): Record<string, unknown> | undefined {
    const parts = token.split('.');
    if (parts.length !== 3) return undefined;
    const [header = '', payload = '', signature = ''] = parts;
    const expected = createHmac('sha256', this.secret).update(`${header}.${payload}`).digest();
    const sent = Buffer.from(signature, 'base64url');
    if (sent.length !== expected.length || !timingSafeEqual(sent, expected)) return undefined;
    try {
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as unknown;
      return typeof claims === 'object' && claims !== null ? (claims as Record<string, unknown>) : undefined;
    } catch {
      return undefined;
    }
  }

  /** A license token for an already checked request. */
  issue(request: LicenseTokenRequest, now: Date): IssuedLicenseToken {
    const id = randomUUID();
    const iat = Math.floor(now.getTime() / 1000);
    const expiresAt = now.getTime() + (request.expiresInSeconds ?? DEFAULT_LICENSE_TOKEN_DAYS * 86_400) * 1000;
    const properties = [...(request.tokenProperties ?? [])];
    this.tokens.set(id, { id, accountId: request.accountId, roleArn: request.roleArn, licenseArn: request.licenseArn ?? null, properties, expiresAt, revoked: false });
    const licenseToken = this.sign({
      iss: LICENSE_TOKEN_ISSUER,
      sub: request.accountId,
      ...(request.licenseArn === undefined ? {} : { aud: request.licenseArn }),
      amr: properties,
      roleArns: [request.roleArn],
      iat,
      exp: Math.floor(expiresAt / 1000),
      jti: id,
    });
    return { licenseToken, roleArn: request.roleArn, expiresAt: new Date(expiresAt).toISOString() };
  }

  /** Revokes a license token (DeleteToken on AWS); false when it is not one the emulator issued. */
  revoke(licenseToken: string): boolean {
    const claims = this.verify(licenseToken);
    const token = typeof claims?.['jti'] === 'string' ? this.tokens.get(claims['jti']) : undefined;
    if (token === undefined) return false;
    token.revoked = true;
    return true;
  }

  private licenseToken(token: string, now: number): Redeemed<LicenseToken> {
    const claims = this.verify(token);
    const found = typeof claims?.['jti'] === 'string' && claims['iss'] === LICENSE_TOKEN_ISSUER ? this.tokens.get(claims['jti']) : undefined;
    if (found === undefined) return { ok: false, why: 'invalid' };
    if (found.revoked) return { ok: false, why: 'revoked' };
    if (now >= found.expiresAt) return { ok: false, why: 'expired', expiresAt: found.expiresAt };
    return { ok: true, value: found };
  }

  /**
   * GetAccessToken: an access token for a good license token; `properties` (GetAccessToken's
   * TokenProperties) must all be among the token's, else the token counts as invalid for the call.
   */
  accessToken(token: string, properties: readonly string[], now: Date, ttlMs: number): Redeemed<string> {
    const redeemed = this.licenseToken(token, now.getTime());
    if (!redeemed.ok) return redeemed;
    const license = redeemed.value;
    if (properties.some((p) => !license.properties.includes(p))) return { ok: false, why: 'invalid' };
    const id = randomUUID();
    const expiresAt = now.getTime() + ttlMs;
    const subject = `${license.accountId}:${license.id}`;
    this.grants.set(id, { id, licenseTokenId: license.id, accountId: license.accountId, expiresAt, subject });
    return {
      ok: true,
      value: this.sign({
        iss: ACCESS_TOKEN_ISSUER,
        sub: subject,
        aud: OIDC_PROVIDER,
        amr: [issuerAccountClaim(license.accountId), ...license.properties],
        iat: Math.floor(now.getTime() / 1000),
        exp: Math.floor(expiresAt / 1000),
        jti: id,
      }),
    };
  }

  /** An access token STS is given: 'revoked' when its license token was revoked since. */
  grant(accessToken: string, now: Date): Redeemed<AccessGrant> {
    const claims = this.verify(accessToken);
    const grant = typeof claims?.['jti'] === 'string' && claims['iss'] === ACCESS_TOKEN_ISSUER ? this.grants.get(claims['jti']) : undefined;
    if (grant === undefined) return { ok: false, why: 'invalid' };
    if (this.tokens.get(grant.licenseTokenId)?.revoked !== false) return { ok: false, why: 'revoked' };
    if (now.getTime() >= grant.expiresAt) return { ok: false, why: 'expired', expiresAt: grant.expiresAt };
    return { ok: true, value: grant };
  }

  reset(): void {
    this.tokens.clear();
    this.grants.clear();
  }
}
