/**
 * GetAccessToken: a license token (Containers Anywhere's `license_token`) for an access token that
 * lives `accessTokenTtlSeconds` (AWS: one hour). AWS's own credential provider sample calls it with
 * anonymous credentials, so the emulator takes it with no Authorization header at all (and a signed
 * request too, verified like any other); it is the only License Manager operation that does.
 * A token the emulator did not issue, a revoked or expired one, or one without every TokenProperty
 * asked for -> AuthorizationException, the modelled refusal of who is calling.
 */
import type { ApiOperation, OperationCall } from '../service.js';
import { authorize } from './authorization.js';
import { licenseManagerError } from './errors.js';
import { GET_ACCESS_TOKEN_INPUT } from './shapes.js';

const WHY = {
  invalid: 'The token is not a license token License Manager issued, or lacks the TokenProperties asked for.',
  revoked: 'The license token has been deleted (revoked).',
  expired: 'The license token has expired.',
} as const;

export const getAccessToken: ApiOperation = {
  input: GET_ACCESS_TOKEN_INPUT,
  anonymous: true,
  rateLimit: (scenario) => scenario.licenseManagerRateLimit,

  async run(call: OperationCall): Promise<Record<string, unknown>> {
    authorize(call);
    const { store, now, config } = call.deps;
    const properties = (call.input['TokenProperties'] as string[] | undefined) ?? [];
    const redeemed = store.licenseTokens.accessToken(call.input['Token'] as string, properties, now(), config.accessTokenTtlMs);
    if (!redeemed.ok) throw licenseManagerError('AuthorizationException', WHY[redeemed.why]);
    return { AccessToken: redeemed.value };
  },
};
