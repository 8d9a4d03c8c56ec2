/**
 * License Manager's modelled errors. HTTP statuses are the newest model's (the one the JS SDK v3
 * carries: RedirectException 308 with `Location` also in a header, RateLimitExceededException 429,
 * AuthorizationException 403, AccessDeniedException 401, ConflictException 409); Debian's older
 * botocore model has none and reads every error by its `__type`. Every message is under `Message`.
 *
 * Messages start with the model's documentation of the error, then say what exactly was wrong
 * (AWS's own texts rarely do), except NoEntitlementsAllowedException, which starts with the words
 * AWS sends ("No Entitlements Allowed", as reported from the field).
 */
import { ApiError, type ApiErrorExtras } from '../errors.js';

export const LICENSE_MANAGER_ERROR_STATUS = {
  ValidationException: 400,
  InvalidParameterValueException: 400,
  ResourceNotFoundException: 400,
  NoEntitlementsAllowedException: 400,
  UnsupportedDigitalSignatureMethodException: 400,
  RedirectException: 308,
  AuthorizationException: 403,
  AccessDeniedException: 401,
  RateLimitExceededException: 429,
  ServerInternalException: 500,
  ConflictException: 409,
  ResourceLimitExceededException: 400,
} as const;

export type LicenseManagerErrorCode = keyof typeof LICENSE_MANAGER_ERROR_STATUS;

/** The start of each error's message. */
export const LICENSE_MANAGER_MESSAGES = {
  InvalidParameterValueException: 'One or more parameter values are not valid.',
  ResourceNotFoundException: 'The resource cannot be found.',
  NoEntitlementsAllowedException: 'No Entitlements Allowed',
  RedirectException: 'This is not the correct Region for the resource. Try again.',
  ConflictException: 'There was a conflict processing the request. Try your request again.',
  RateLimitExceededException: 'Rate exceeded',
  ServerInternalException: 'The server experienced an internal error. Try again.',
} as const satisfies Partial<Record<LicenseManagerErrorCode, string>>;

/** A License Manager error with its modelled status. */
export function licenseManagerError(code: LicenseManagerErrorCode, message: string, extras?: ApiErrorExtras): ApiError {
  return new ApiError(code, message, LICENSE_MANAGER_ERROR_STATUS[code], extras);
}

/** A modelled error with its usual words, then what exactly was wrong. */
export function lmError(code: keyof typeof LICENSE_MANAGER_MESSAGES, detail?: string, extras?: ApiErrorExtras): ApiError {
  const start = LICENSE_MANAGER_MESSAGES[code];
  return licenseManagerError(code, detail === undefined ? start : `${start}${start.endsWith('.') ? '' : '.'} ${detail}`, extras);
}

/** RedirectException: the license lives in another region; `Location` names it (body member and header). */
export function redirectTo(region: string): ApiError {
  return lmError('RedirectException', `The license's home region is ${region}.`, { fields: { Location: region }, headers: { location: region } });
}
