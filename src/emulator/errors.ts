/**
 * The error codes the emulator answers with, their HTTP status and how they go on the wire.
 *
 * AWS JSON 1.1 puts the code in the body's `__type` and (on most services) in `x-amzn-errortype`;
 * the SDK v3 and botocore read either, so the emulator sends both and they always agree.
 */

/** HTTP status per code. The modelled RegisterUsage errors are 400 except the one server fault. */
export const ERROR_STATUS = {
  // RegisterUsage's modelled errors (see the service model).
  CustomerNotEntitledException: 400,
  PlatformNotSupportedException: 400,
  InvalidProductCodeException: 400,
  InvalidPublicKeyVersionException: 400,
  InvalidRegionException: 400,
  DisabledApiException: 400,
  ThrottlingException: 400,
  InternalServiceErrorException: 500,
  // Errors every AWS JSON service answers before an operation runs; not in the model, so the
  // SDK surfaces them as MarketplaceMeteringServiceException with `name` = the code.
  UnknownOperationException: 400,
  SerializationException: 400,
  ValidationException: 400,
  MissingAuthenticationTokenException: 403,
  IncompleteSignatureException: 400,
  InvalidSignatureException: 403,
  UnrecognizedClientException: 400,
  RequestEntityTooLargeException: 413,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** An answer that is an AWS error. Thrown inside the request pipeline and turned into a response by the server. */
export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly status: number;

  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.status = ERROR_STATUS[code];
  }

  /** The AWS JSON 1.1 error body: unqualified `__type` (what Coral sends after the `#` is all clients keep). */
  body(): string {
    return JSON.stringify({ __type: this.code, message: this.message });
  }
}

/** Messages that callers match on; kept here so tests and handlers cannot drift apart. */
export const MESSAGES = {
  rateExceeded: 'Rate exceeded',
  unrecognizedClient: 'The security token included in the request is invalid.',
  missingToken: 'Request is missing Authentication Token',
  signatureMismatch:
    'The request signature we calculated does not match the signature you provided. ' +
    'Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
  internal: 'An internal error occurred. Please retry your request.',
} as const;
