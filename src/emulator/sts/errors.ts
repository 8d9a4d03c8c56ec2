/**
 * STS's errors as the Query protocol names them (the model's `error.code`, not the shape name: the
 * shape InvalidIdentityTokenException is sent as `InvalidIdentityToken`), with the model's statuses,
 * plus the common Query errors it answers (AccessDenied, ValidationError, Throttling, InternalFailure).
 */
import { ApiError } from '../errors.js';

export const STS_ERROR_STATUS = {
  InvalidIdentityToken: 400,
  ExpiredTokenException: 400,
  IDPRejectedClaim: 403,
  IDPCommunicationError: 400,
  MalformedPolicyDocument: 400,
  PackedPolicyTooLarge: 400,
  RegionDisabledException: 403,
  AccessDenied: 403,
  ValidationError: 400,
  Throttling: 400,
  InternalFailure: 500,
} as const;

export type StsErrorCode = keyof typeof STS_ERROR_STATUS;

/** The words STS sends (where known from the field), or the model's documentation of the error. */
export const STS_MESSAGES = {
  InvalidIdentityToken: 'The web identity token that was passed could not be validated by Amazon Web Services. Get a new identity token from the identity provider and then retry the request.',
  IDPRejectedClaim: 'The identity provider (IdP) reported that authentication failed. This might be because the claim is invalid.',
  AccessDenied: 'Not authorized to perform sts:AssumeRoleWithWebIdentity',
  maxSessionDuration: 'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.',
  Throttling: 'Rate exceeded',
  InternalFailure: 'An internal error occurred. Please retry your request.',
} as const;

export function stsError(code: StsErrorCode, message: string): ApiError {
  return new ApiError(code, message, STS_ERROR_STATUS[code]);
}

/** STS's words for a web identity token past its `exp` (seen in the field), in epoch seconds. */
export function expiredToken(now: number, expiresAt: number): ApiError {
  return stsError('ExpiredTokenException', `Token expired: current date/time ${Math.floor(now / 1000)} must be before the expiration date/time ${Math.floor(expiresAt / 1000)}`);
}
