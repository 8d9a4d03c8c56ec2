import { errnoOf, NETWORK_ERRNOS } from '../shared/errno.js';
import { scrubSecrets } from '../shared/scrub.js';
import { REGION_PATTERN } from './region.js';
import type { OutcomeCode } from '../entitlement/outcomes.js';

/**
 * THE classifier: whatever an AWS SDK call threw (a modelled or unmodelled AWS error, a credential
 * chain failure, a transport fault, a timeout, a 2xx it could not read) becomes one outcome code, the
 * AWS error name, the request id, a detail scrubbed of secrets, and whether the request may have been
 * processed by AWS (what a caller that must never send twice needs to know). Every caller (RegisterUsage,
 * the MeterUsage dry run, the usage forwarder) classifies here and nowhere else.
 */

export interface ClassifiedError {
  readonly code: OutcomeCode;
  readonly awsError: string | undefined;
  readonly requestId: string | undefined;
  /** What happened, scrubbed of credentials: AWS's messages can quote the signed request. */
  readonly detail: string;
  /**
   * Whether AWS may have processed the request: `answered` (AWS said no: it did not), `not-sent` (it
   * never left: no credentials, connection refused, DNS), `unknown` (a timeout, a reset, a 5xx, a 2xx
   * that could not be read).
   */
  readonly delivery: 'answered' | 'not-sent' | 'unknown';
  /** License Manager's RedirectException: the license's home region (its `Location`), when it is a region name. */
  readonly redirectRegion?: string;
}

/** The AWS services the sidecar calls; their error names mean different outcomes. */
export type AwsService = 'metering' | 'license-manager';

/** Turns whatever an SDK call threw into one of our codes. */
export function classifyError(err: unknown, service: AwsService = 'metering'): ClassifiedError {
  const e = err as {
    name?: string;
    code?: string;
    message?: string;
    $metadata?: { httpStatusCode?: number; requestId?: string };
  };
  const status = e.$metadata?.httpStatusCode;
  const requestId = wireToken(e.$metadata?.requestId);
  // Whatever AWS (or a proxy on the way) said goes to logs, /healthz and pod Events: never a credential.
  const detail = scrubSecrets(e.message ?? String(err));
  const of = (code: OutcomeCode, awsError: string | undefined, delivery: ClassifiedError['delivery']): ClassifiedError => ({
    code,
    awsError,
    requestId,
    detail,
    delivery,
  });
  if (e.name === 'TimeoutError' || e.name === ATTEMPT_TIMEOUT) return of('TIMEOUT', undefined, 'unknown');
  // The license token chain (outside AWS) says itself what went wrong; no request left for the call.
  if (e.name === 'AnywhereCredentialsError') {
    const a = err as { outcome: OutcomeCode; awsError?: string };
    return of(a.outcome, wireToken(a.awsError), 'not-sent');
  }
  if (e.name === MALFORMED_RESPONSE) return of('SERVICE_UNAVAILABLE', MALFORMED_RESPONSE, 'unknown');
  if (e.name === 'CredentialsProviderError' || e.name === 'ProviderError' || e.name === 'TokenProviderError') {
    return of('CREDENTIALS_UNAVAILABLE', e.name, 'not-sent');
  }
  const errno = errnoOf(err);
  if (status === undefined) {
    // No HTTP answer at all: a network fault, which is retried. Whether the request left depends on how it failed.
    const known = errno === undefined ? undefined : NETWORK_ERRNOS[errno];
    return of('NETWORK_ERROR', wireToken(errno ?? e.name), known?.sentNothing === true ? 'not-sent' : 'unknown');
  }
  if (status >= 200 && status < 300) {
    // A 2xx the SDK could not read (truncated or garbled body): a transport fault, not an answer.
    return of('SERVICE_UNAVAILABLE', MALFORMED_RESPONSE, 'unknown');
  }
  const name = wireToken(unqualifiedErrorName(e.name ?? '')) ?? 'UnknownError';
  const code = codeForAwsError(name, status, service);
  // A server fault may have happened after the request was processed; any other answer says it was not.
  const classified = of(code, name, status >= 500 || name === 'InternalServiceErrorException' || name === 'ServerInternalException' ? 'unknown' : 'answered');
  const location = (err as { Location?: unknown }).Location;
  return code === 'LICENSE_REDIRECTED' && typeof location === 'string' && REGION_PATTERN.test(location) ? { ...classified, redirectRegion: location } : classified;
}

/**
 * An error code or request id as it may appear in /healthz and logs: the wire sends whatever the
 * endpoint (or a proxy) put in `__type`, so anything but a short identifier is dropped.
 */
function wireToken(value: unknown): string | undefined {
  return typeof value === 'string' && /^[A-Za-z0-9_.:#/-]{1,128}$/.test(value) ? value : undefined;
}

/** The name of the error for a 2xx answer that is readable JSON but holds something unusable. */
export const MALFORMED_RESPONSE = 'MalformedResponse';

/** A 2xx whose content cannot be used: classified like an unreadable 2xx (a transport fault, retried). */
export function malformedResponse(detail: string, metadata: unknown): Error {
  return Object.assign(new Error(detail), { name: MALFORMED_RESPONSE, $metadata: metadata });
}

/** The name of the error for an attempt that got no answer within its own timeout. */
export const ATTEMPT_TIMEOUT = 'AttemptTimeout';

export function attemptTimeout(timeoutMs: number): Error {
  return Object.assign(new Error(`no answer within ${timeoutMs} ms`), { name: ATTEMPT_TIMEOUT });
}

/** Codes AWS sends on the wire (the `__type`, unqualified), mapped to our stable codes. */
export function codeForAwsError(name: string, httpStatus: number | undefined, service: AwsService = 'metering'): OutcomeCode {
  if (service === 'license-manager') {
    const code = licenseManagerCode(name);
    if (code !== undefined) return code;
  }
  switch (name) {
    case 'CustomerNotEntitledException':
    // The prose of AWS's docs calls it this; no model or SDK has it, but a vendor's proxy might.
    case 'CustomerNotSubscribedException':
      return 'CUSTOMER_NOT_ENTITLED';
    case 'PlatformNotSupportedException':
      return 'PLATFORM_NOT_SUPPORTED';
    case 'InvalidProductCodeException':
      return 'INVALID_PRODUCT_CODE';
    case 'InvalidPublicKeyVersionException':
      return 'INVALID_PUBLIC_KEY_VERSION';
    case 'InvalidRegionException':
    case 'InvalidEndpointRegionException':
      return 'INVALID_REGION';
    case 'DisabledApiException':
      return 'API_DISABLED';
    case 'ThrottlingException':
    case 'TooManyRequestsException':
    case 'RequestLimitExceeded':
      return 'THROTTLED';
    case 'InternalServiceErrorException':
    case 'ServiceUnavailableException':
    case 'InternalFailure':
      return 'SERVICE_UNAVAILABLE';
    case 'AccessDeniedException':
      return 'ACCESS_DENIED';
    case 'UnrecognizedClientException':
    case 'InvalidSignatureException':
    case 'ExpiredTokenException':
    case 'InvalidClientTokenId':
    case 'MissingAuthenticationTokenException':
    case 'IncompleteSignature':
      return 'CREDENTIALS_REJECTED';
    case 'CredentialsProviderError':
    case 'ProviderError':
    case 'TokenProviderError':
      return 'CREDENTIALS_UNAVAILABLE';
    case 'ValidationException':
    case 'SerializationException':
      return 'REQUEST_INVALID';
    default:
      return httpStatus !== undefined && httpStatus >= 500 ? 'SERVICE_UNAVAILABLE' : 'UNEXPECTED_ERROR';
  }
}

/** License Manager's own error names (its model), mapped to our codes; undefined for the shared ones. */
function licenseManagerCode(name: string): OutcomeCode | undefined {
  switch (name) {
    // No license of this SKU and fingerprint for the account, none of the entitlements asked, or a pool used up.
    case 'NoEntitlementsAllowedException':
    case 'ResourceNotFoundException':
      return 'NO_LICENSE';
    // AuthorizationException is what the node's instance role gets; AccessDeniedException a role without the action.
    case 'AuthorizationException':
    case 'AccessDeniedException':
      return 'LICENSE_ACCESS_DENIED';
    case 'RateLimitExceededException':
      return 'THROTTLED';
    case 'ServerInternalException':
      return 'SERVICE_UNAVAILABLE';
    case 'RedirectException':
      return 'LICENSE_REDIRECTED';
    case 'ValidationException':
    case 'InvalidParameterValueException':
    case 'UnsupportedDigitalSignatureMethodException':
      return 'LICENSE_REQUEST_INVALID';
    default:
      return undefined;
  }
}

/** Strips the namespace AWS may put in front of an error type: `com.amazonaws.x#ThrottlingException`. */
export function unqualifiedErrorName(raw: string): string {
  const afterHash = raw.slice(raw.lastIndexOf('#') + 1);
  // x-amzn-errortype may carry a suffix such as ":http://internal.amazon.com/...".
  const colon = afterHash.indexOf(':');
  return colon === -1 ? afterHash : afterHash.slice(0, colon);
}
