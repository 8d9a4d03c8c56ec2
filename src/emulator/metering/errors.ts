/**
 * The Metering API's modelled errors: their HTTP status (400 but for the one server fault) and the
 * model's documentation as the start of their message.
 */
import { ApiError } from '../errors.js';

/** HTTP status per modelled error of the Metering API. */
export const METERING_ERROR_STATUS = {
  // RegisterUsage's modelled errors (see the service model).
  CustomerNotEntitledException: 400,
  PlatformNotSupportedException: 400,
  InvalidProductCodeException: 400,
  InvalidPublicKeyVersionException: 400,
  InvalidRegionException: 400,
  DisabledApiException: 400,
  ThrottlingException: 400,
  InternalServiceErrorException: 500,
  // MeterUsage, BatchMeterUsage and ResolveCustomer add these.
  DuplicateRequestException: 400,
  // The newest model gives this one httpError 409; the API reference lists it as 400, which is what
  // the emulator sends. Clients key on `__type`, so either status surfaces as the same exception.
  IdempotencyConflictException: 400,
  InvalidEndpointRegionException: 400,
  InvalidTagException: 400,
  InvalidUsageAllocationsException: 400,
  InvalidUsageDimensionException: 400,
  TimestampOutOfBoundsException: 400,
  InvalidCustomerIdentifierException: 400,
  InvalidLicenseException: 400,
  InvalidTokenException: 400,
  ExpiredTokenException: 400,
} as const;

export type MeteringErrorCode = keyof typeof METERING_ERROR_STATUS;

export const METERING_MESSAGES = {
  rateExceeded: 'Rate exceeded',
  internal: 'An internal error occurred. Please retry your request.',
} as const;

/** The service model's documentation of each modelled error, used as (the start of) its message. */
export const MODEL_MESSAGES = {
  CustomerNotEntitledException: 'Exception thrown when the customer does not have a valid subscription for the product.',
  PlatformNotSupportedException:
    'AWS Marketplace does not support metering usage from the underlying platform. Currently, Amazon ECS, Amazon EKS, and AWS Fargate are supported.',
  InvalidProductCodeException: 'The product code passed does not match the product code used for publishing the product.',
  InvalidPublicKeyVersionException: 'Public Key version is invalid.',
  InvalidRegionException:
    'RegisterUsage must be called in the same AWS Region the ECS task was launched in. This prevents a container from hardcoding a Region.',
  DisabledApiException: 'The API is disabled in the Region.',
  DuplicateRequestException:
    'A metering record has already been emitted by the same EC2 instance, ECS task, or EKS pod for the given {usageDimension, timestamp} with a different usageQuantity.',
  IdempotencyConflictException: 'The ClientToken is being used for multiple requests.',
  InvalidEndpointRegionException:
    'The endpoint being called is in a AWS Region different from your EC2 instance, ECS task, or EKS pod. The Region of the Metering Service endpoint and the AWS Region of the resource must match.',
  InvalidTagException: 'The tag is invalid, or the number of tags is greater than 5.',
  InvalidUsageAllocationsException: 'Sum of allocated usage quantities is not equal to the usage quantity.',
  InvalidUsageDimensionException: 'The usage dimension does not match one of the UsageDimensions associated with products.',
  TimestampOutOfBoundsException: 'The timestamp value passed in the UsageRecord is out of allowed range.',
  InvalidCustomerIdentifierException: 'You have metered usage for a CustomerIdentifier that does not exist.',
  InvalidLicenseException: 'Ensure the LicenseArn is valid, matches the customer, and usage is within the license activation period.',
  InvalidTokenException: 'Registration token is invalid.',
  ExpiredTokenException: 'The submitted registration token has expired.',
} as const satisfies Partial<Record<MeteringErrorCode, string>>;

/** A modelled error with the model's text, plus what exactly was wrong (AWS's own texts rarely say). */
export function modelError(code: keyof typeof MODEL_MESSAGES, detail?: string): ApiError {
  return meteringError(code, detail === undefined ? MODEL_MESSAGES[code] : `${MODEL_MESSAGES[code]} ${detail}`);
}

/** A Metering API error with its modelled status. */
export function meteringError(code: MeteringErrorCode, message: string): ApiError {
  return new ApiError(code, message, METERING_ERROR_STATUS[code]);
}
