/**
 * Errors the emulator answers with, for every service it emulates: an ApiError carries the code, the
 * HTTP status and the message; a service renders it in its own wire form (the Metering API's
 * `{"__type", "message"}`, License Manager's `{"__type", "Message"}`, STS's XML ErrorResponse). The
 * errors every service answers before an operation runs (signature, protocol, validation) are here,
 * with their AWS Query names; each service's modelled errors are in its own folder.
 *
 * AWS JSON 1.1 puts the code in the body's `__type` and (on most services) in `x-amzn-errortype`;
 * the SDK v3 and botocore read either, so the emulator sends both and they always agree.
 */

/** HTTP status of the errors every AWS JSON service answers before an operation runs. */
export const PROTOCOL_ERROR_STATUS = {
  // Not in any model, so the SDK surfaces them as the service's base exception with `name` = the code.
  UnknownOperationException: 400,
  SerializationException: 400,
  ValidationException: 400,
  MissingAuthenticationTokenException: 403,
  IncompleteSignatureException: 400,
  InvalidSignatureException: 403,
  UnrecognizedClientException: 400,
  RequestEntityTooLargeException: 413,
  // Session credentials past their Expiration (AWS's common error; 403 on every service).
  ExpiredTokenException: 403,
  // No AWS service publishes an answer for a Host it does not serve; 421 is HTTP's (RFC 9110).
  MisdirectedRequestException: 421,
} as const;

/**
 * The same errors as AWS Query services (STS) name them: their codes have no `Exception` suffix and
 * the signature ones are other words altogether.
 */
export const QUERY_PROTOCOL_ERRORS: Readonly<Record<keyof typeof PROTOCOL_ERROR_STATUS, { readonly code: string; readonly status: number }>> = {
  UnknownOperationException: { code: 'InvalidAction', status: 400 },
  SerializationException: { code: 'ValidationError', status: 400 },
  ValidationException: { code: 'ValidationError', status: 400 },
  MissingAuthenticationTokenException: { code: 'MissingAuthenticationToken', status: 403 },
  IncompleteSignatureException: { code: 'IncompleteSignature', status: 400 },
  InvalidSignatureException: { code: 'SignatureDoesNotMatch', status: 403 },
  UnrecognizedClientException: { code: 'InvalidClientTokenId', status: 403 },
  RequestEntityTooLargeException: { code: 'RequestEntityTooLarge', status: 413 },
  ExpiredTokenException: { code: 'ExpiredToken', status: 403 },
  MisdirectedRequestException: { code: 'MisdirectedRequest', status: 421 },
};

export type ProtocolErrorCode = keyof typeof PROTOCOL_ERROR_STATUS;

/** What an error carries besides its code and message, as its shape models it. */
export interface ApiErrorExtras {
  /** More members of the error structure (License Manager's RedirectException has `Location`). */
  readonly fields?: Readonly<Record<string, string>>;
  /** Members bound to HTTP headers (the newest model reads RedirectException's `Location` from one). */
  readonly headers?: Readonly<Record<string, string>>;
  /** How an AWS Query service names this error, when it names it otherwise (the protocol-level errors). */
  readonly query?: { readonly code: string; readonly status: number };
}

/** An answer that is an AWS error. Thrown inside the request pipeline and turned into a response there. */
export class ApiError extends Error {
  readonly code: string;
  readonly status: number;
  readonly fields: Readonly<Record<string, string>>;
  readonly headers: Readonly<Record<string, string>>;
  readonly query: { readonly code: string; readonly status: number };

  constructor(code: string, message: string, status: number, extras: ApiErrorExtras = {}) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.status = status;
    this.fields = extras.fields ?? {};
    this.headers = extras.headers ?? {};
    this.query = extras.query ?? { code, status };
  }

  /** The AWS JSON 1.1 error body: unqualified `__type` (what Coral sends after the `#` is all clients keep). */
  body(messageKey: 'message' | 'Message' = 'message'): string {
    return JSON.stringify({ __type: this.code, [messageKey]: this.message, ...this.fields });
  }
}

/** One of the protocol-level errors, with its status (and its name in AWS Query). */
export function protocolError(code: ProtocolErrorCode, message: string): ApiError {
  return new ApiError(code, message, PROTOCOL_ERROR_STATUS[code], { query: QUERY_PROTOCOL_ERRORS[code] });
}

/** Messages that callers match on; kept here so tests and handlers cannot drift apart. */
export const MESSAGES = {
  unrecognizedClient: 'The security token included in the request is invalid.',
  expiredToken: 'The security token included in the request is expired',
  missingToken: 'Request is missing Authentication Token',
  signatureMismatch:
    'The request signature we calculated does not match the signature you provided. ' +
    'Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
} as const;

