import { GetAccessTokenCommand, LicenseManagerClient } from '@aws-sdk/client-license-manager';
import { fromWebToken } from '@aws-sdk/credential-provider-web-identity';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { fileErrorCode, FileRefusedError, readRegularFile } from '../shared/regular-file.js';
import type { Now } from '../shared/time.js';
import type { AwsCredentials, CredentialProvider } from './credentials.js';
import { scrubSecrets } from '../shared/scrub.js';

/**
 * Credentials for contract products outside AWS (EKS Anywhere, ECS Anywhere, any Kubernetes): the
 * buyer's license token from AWS Marketplace, exchanged as AWS's own credential-provider sample does:
 * `GetAccessToken` (unsigned: the token is the credential) for a one-hour access token, then STS
 * `AssumeRoleWithWebIdentity` (unsigned) with that token and the buyer's role for temporary keys,
 * refreshed before they expire. Both files come from the Secret AWS Marketplace gives the buyer
 * (`license_token`, `iam_role`), mounted as a directory; they are re-read at each refresh, so a
 * replaced Secret takes effect without a restart. The token is a secret: no message here carries it.
 */

export { DEFAULT_LICENSE_TOKEN_DIR } from './license-manager-model.js';
export const LICENSE_TOKEN_FILE = 'license_token';
export const LICENSE_ROLE_FILE = 'iam_role';
/** A license token is a JWT of about 1 KiB; a role ARN far less. */
const MAX_SECRET_FILE_BYTES = 16 * 1024;
/** Fresh credentials are fetched this long before the current ones expire (or halfway through shorter lives). */
export const REFRESH_BEFORE_EXPIRY_MS = 5 * 60_000;
const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;

/** What went wrong with the license token chain, as the outcome it is. */
export type AnywhereFailure = 'LICENSE_TOKEN_UNREADABLE' | 'LICENSE_TOKEN_REJECTED' | 'LICENSE_ROLE_REJECTED';

export class AnywhereCredentialsError extends Error {
  override readonly name = 'AnywhereCredentialsError';
  readonly outcome: AnywhereFailure;
  readonly awsError: string | undefined;
  constructor(outcome: AnywhereFailure, message: string, awsError?: string) {
    super(message);
    this.outcome = outcome;
    this.awsError = awsError;
  }
}

/** Whether the buyer's license Secret is mounted: its token file exists (a Secret mount's link is followed). */
export function licenseTokenMounted(dir: string): boolean {
  try {
    return statSync(join(dir, LICENSE_TOKEN_FILE)).isFile();
  } catch {
    return false;
  }
}

export interface LicenseSecret {
  readonly token: string;
  readonly roleArn: string;
}

/** The two files of the Secret, each a bounded regular file (Kubernetes mounts them through links). */
export async function readLicenseSecret(dir: string): Promise<LicenseSecret> {
  const read = async (name: string) => {
    const path = join(dir, name);
    try {
      return (await readRegularFile(path, MAX_SECRET_FILE_BYTES, { followSymlinks: true })).toString('utf8').trim();
    } catch (err) {
      const why = err instanceof FileRefusedError ? err.message : `${path} cannot be read (${fileErrorCode(err)})`;
      throw new AnywhereCredentialsError('LICENSE_TOKEN_UNREADABLE', why);
    }
  };
  const [token, roleArn] = [await read(LICENSE_TOKEN_FILE), await read(LICENSE_ROLE_FILE)];
  if (!/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token)) {
    throw new AnywhereCredentialsError('LICENSE_TOKEN_UNREADABLE', `${join(dir, LICENSE_TOKEN_FILE)} does not hold a license token (a JWT)`);
  }
  if (!ROLE_ARN.test(roleArn)) {
    throw new AnywhereCredentialsError('LICENSE_TOKEN_UNREADABLE', `${join(dir, LICENSE_ROLE_FILE)} does not hold an IAM role ARN`);
  }
  return { token, roleArn };
}

export interface AnywhereCredentialsOptions {
  readonly dir: string;
  readonly region: string;
  readonly env: NodeJS.ProcessEnv;
  readonly now: Now;
  /** The License Manager client GetAccessToken is sent with; default an anonymous one for `region`. */
  readonly licenseManager?: Pick<LicenseManagerClient, 'send'>;
  /** Names the session in CloudTrail: the pod's name, when known. */
  readonly sessionName?: string;
}

/**
 * An anonymous License Manager client, as AWS's sample sends GetAccessToken: the SDK has no switch for
 * that on a SigV4 service, so the auth scheme's identity is empty and its signer leaves the request
 * as it is (no Authorization header at all).
 */
export function anonymousLicenseManagerClient(region: string, env: NodeJS.ProcessEnv): LicenseManagerClient {
  const endpoint = env.AWS_ENDPOINT_URL_LICENSE_MANAGER || env.AWS_ENDPOINT_URL || undefined;
  return new LicenseManagerClient({
    region,
    maxAttempts: 1,
    ...(endpoint === undefined ? {} : { endpoint }),
    httpAuthSchemes: [{ schemeId: 'aws.auth#sigv4', identityProvider: () => async () => ({}), signer: { sign: async (request) => request } }],
  });
}

/** STS's error names for a token it will not take, and for a role that does not trust License Manager. */
const TOKEN_REJECTED = new Set(['InvalidIdentityToken', 'InvalidIdentityTokenException', 'ExpiredToken', 'ExpiredTokenException', 'IDPRejectedClaim', 'IDPRejectedClaimException']);
const ROLE_REJECTED = new Set(['AccessDenied', 'AccessDeniedException']);

/**
 * The license token chain as one SDK credential provider, cached until shortly before its expiration
 * (5 minutes before, or halfway through a shorter life). A refresh that fails while the current
 * credentials are still valid keeps them (STS briefly unreachable costs nothing); once they have
 * expired, the failure is the call's.
 */
export function licenseTokenCredentials(o: AnywhereCredentialsOptions): CredentialProvider {
  let current: { credentials: AwsCredentials; refreshAt: number } | undefined;
  let pending: Promise<AwsCredentials> | undefined;
  const valid = (c: AwsCredentials) => c.expiration === undefined || c.expiration.getTime() > o.now();
  const refreshAtFor = (c: AwsCredentials, fetchedAt: number) => {
    if (c.expiration === undefined) return Number.POSITIVE_INFINITY;
    const life = c.expiration.getTime() - fetchedAt;
    return fetchedAt + Math.max(life - REFRESH_BEFORE_EXPIRY_MS, life / 2);
  };
  const fetch = async (): Promise<AwsCredentials> => {
    const secret = await readLicenseSecret(o.dir);
    const lm = o.licenseManager ?? anonymousLicenseManagerClient(o.region, o.env);
    let accessToken: string | undefined;
    try {
      accessToken = (await lm.send(new GetAccessTokenCommand({ Token: secret.token }))).AccessToken;
    } catch (err) {
      const name = (err as { name?: string }).name ?? '';
      if (name === 'AuthorizationException' || name === 'AccessDeniedException') {
        throw new AnywhereCredentialsError('LICENSE_TOKEN_REJECTED', `GetAccessToken refused the license token: ${scrubSecrets((err as Error).message)}`, name);
      }
      throw err;
    }
    if (accessToken === undefined || accessToken === '') throw new AnywhereCredentialsError('LICENSE_TOKEN_REJECTED', 'GetAccessToken answered without an AccessToken');
    const endpoint = o.env.AWS_ENDPOINT_URL_STS || o.env.AWS_ENDPOINT_URL || undefined;
    try {
      const c = await fromWebToken({
        roleArn: secret.roleArn,
        webIdentityToken: accessToken,
        roleSessionName: sessionName(o.sessionName),
        clientConfig: { region: o.region, maxAttempts: 1, ...(endpoint === undefined ? {} : { endpoint }) },
      })();
      return { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, ...(c.sessionToken === undefined ? {} : { sessionToken: c.sessionToken }), ...(c.expiration === undefined ? {} : { expiration: c.expiration }) };
    } catch (err) {
      const name = (err as { name?: string; Code?: string }).name ?? '';
      const message = scrubSecrets((err as Error).message);
      if (TOKEN_REJECTED.has(name)) throw new AnywhereCredentialsError('LICENSE_TOKEN_REJECTED', `STS refused the access token of the license token: ${name}: ${message}`, name);
      if (ROLE_REJECTED.has(name)) throw new AnywhereCredentialsError('LICENSE_ROLE_REJECTED', `STS would not let the license token assume ${secret.roleArn}: ${name}: ${message}`, name);
      throw err;
    }
  };
  return async () => {
    if (current !== undefined && o.now() < current.refreshAt) return current.credentials;
    const fetchedAt = o.now();
    pending ??= fetch().finally(() => (pending = undefined));
    try {
      const credentials = await pending;
      current = { credentials, refreshAt: refreshAtFor(credentials, fetchedAt) };
      return credentials;
    } catch (err) {
      // A token that was refused is final; a refresh that could not reach AWS leaves valid credentials in use.
      if (current !== undefined && !(err instanceof AnywhereCredentialsError) && valid(current.credentials)) return current.credentials;
      throw err;
    }
  };
}

/** A RoleSessionName STS accepts ([\w+=,.@-]{2,64}), naming the pod when it can. */
function sessionName(pod: string | undefined): string {
  const base = `marketplace-entitlement${pod === undefined ? '' : `-${pod}`}`.replace(/[^\w+=,.@-]/g, '-');
  return base.slice(0, 64);
}
