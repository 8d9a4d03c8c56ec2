/**
 * AssumeRoleWithWebIdentity for Containers Anywhere: the web identity token is an access token from
 * License Manager's GetAccessToken; the answer is temporary credentials of the role. Unsigned, as
 * AWS's clients call it (the SDK v3's STS client and botocore send it without a signature). In order:
 *   1. the token: not an access token the emulator issued   -> InvalidIdentityToken
 *                 its license token revoked since           -> IDPRejectedClaim (the model: "the claim
 *                                                              ... has been explicitly revoked")
 *                 past its `exp`                            -> ExpiredTokenException, STS's words
 *   2. the role: unknown, not trusting openid-license-manager.amazonaws.com, or trusting another
 *      token issuer account                                 -> AccessDenied "Not authorized to perform
 *                                                              sts:AssumeRoleWithWebIdentity"
 *   3. DurationSeconds above the role's MaxSessionDuration -> ValidationError
 * Credentials live DurationSeconds, else `stsCredentialsTtlSeconds` (default 3600, STS's default);
 * their Expiration is a whole second. Policy, PolicyArns and ProviderId are accepted and not evaluated.
 */
import type { ApiOperation, OperationCall } from '../service.js';
import { OIDC_PROVIDER } from '../license-manager/license-tokens.js';
import { expiredToken, stsError, STS_MESSAGES } from './errors.js';
import { ROLE_ARN } from './roles.js';
import { ASSUME_ROLE_WITH_WEB_IDENTITY_INPUT } from './shapes.js';

/** STS's spelling of an instant: whole seconds, Z. */
const stsTime = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

export const assumeRoleWithWebIdentity: ApiOperation = {
  input: ASSUME_ROLE_WITH_WEB_IDENTITY_INPUT,
  anonymous: true,
  rateLimit: () => null,

  async run(call: OperationCall): Promise<Record<string, unknown>> {
    const { store, now, config } = call.deps;
    const at = now();
    const roleArn = call.input['RoleArn'] as string;
    const sessionName = call.input['RoleSessionName'] as string;
    const duration = call.input['DurationSeconds'] as number | undefined;

    const grant = store.licenseTokens.grant(call.input['WebIdentityToken'] as string, at);
    if (!grant.ok) {
      if (grant.why === 'expired') throw expiredToken(at.getTime(), grant.expiresAt ?? 0);
      if (grant.why === 'revoked') throw stsError('IDPRejectedClaim', `${STS_MESSAGES.IDPRejectedClaim} The license token of this access token has been revoked.`);
      throw stsError('InvalidIdentityToken', STS_MESSAGES.InvalidIdentityToken);
    }
    const role = store.roles.get(roleArn);
    const denied = (why: string) => stsError('AccessDenied', `${STS_MESSAGES.AccessDenied} (${why})`);
    if (role === undefined) throw denied(`the emulator knows no role ${roleArn}`);
    if (!role.trustsLicenseManager) throw denied(`the role does not trust ${OIDC_PROVIDER}`);
    if (role.issuerAccountId !== grant.value.accountId) {
      throw denied(`the role trusts license tokens issued by account ${role.issuerAccountId}, not ${grant.value.accountId}`);
    }
    if (duration !== undefined && duration > role.maxSessionDurationSeconds) throw stsError('ValidationError', STS_MESSAGES.maxSessionDuration);

    const [, account = '', roleName = ''] = ROLE_ARN.exec(roleArn) ?? [];
    const lifetime = duration === undefined ? config.stsCredentialsTtlMs : duration * 1000;
    const assumedRoleArn = `arn:aws:sts::${account}:assumed-role/${roleName}/${sessionName}`;
    const session = store.sessions.issue({
      accountId: account,
      roleArn,
      assumedRoleArn,
      expiresAt: Math.floor((at.getTime() + lifetime) / 1000) * 1000,
    });
    // The order of AWS's documented example answer.
    return {
      SubjectFromWebIdentityToken: grant.value.subject,
      Audience: OIDC_PROVIDER,
      AssumedRoleUser: { Arn: assumedRoleArn, AssumedRoleId: `${role.roleId}:${sessionName}` },
      Credentials: {
        SessionToken: session.sessionToken,
        SecretAccessKey: session.secretAccessKey,
        Expiration: stsTime(session.expiresAt),
        AccessKeyId: session.accessKeyId,
      },
      Provider: OIDC_PROVIDER,
    };
  },
};
