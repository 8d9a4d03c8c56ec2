/**
 * The input shapes of the Metering API's operations, from the newest service model
 * (the one the JS SDK v3 and current botocore carry): `ClientToken`, `CustomerAWSAccountId` and
 * `LicenseArn` exist, `CustomerIdentifier` and the request's `ProductCode` are optional.
 *
 * Only the model's own traits are here (length, pattern, range, required), so breaking one is a
 * ValidationException, as in every AWS JSON service. That includes more than 5 tags, a tag key or value
 * outside its pattern, and more than 2500 allocations, even though the model's prose for
 * InvalidTagException / InvalidUsageAllocationsException mentions them: Coral rejects a request that
 * breaks a trait before the service's code runs. The rules no trait can state (duplicate tag keys,
 * allocation sums, unique tag sets, exactly one customer id per record) are the modelled exceptions;
 * see usage-rules.ts and batch-meter-usage.ts.
 */
import type { MemberSpec, ShapeSpec } from '../validate.js';

/** RegisterUsage's input, from the service model. */
export const REGISTER_USAGE_INPUT = {
  ProductCode: { type: 'string', required: true, min: 1, max: 255, pattern: '^[-a-zA-Z0-9/=:_.@]*$' },
  PublicKeyVersion: { type: 'integer', required: true, min: 1 },
  Nonce: { type: 'string', max: 255 },
} as const satisfies ShapeSpec;

const PRODUCT_CODE = REGISTER_USAGE_INPUT.ProductCode;
const ANY = '[\\s\\S]+';
/** The model's tag pattern, verbatim: ` -=` is a range (space to '='), so it admits more than it seems to. */
const TAG_PATTERN = '^[a-zA-Z0-9+ -=._:\\/@]+$';
const QUANTITY = { type: 'integer', min: 0, max: 2147483647 } as const;
const DIMENSION = { type: 'string', required: true, min: 1, max: 255, pattern: ANY } as const;

export const LICENSE_ARN_PATTERN =
  '^arn:aws[a-zA-Z-]*:[A-Za-z0-9][A-Za-z0-9_/.-]{0,62}:[A-Za-z0-9_/.-]{0,63}:[A-Za-z0-9_/.-]{0,63}:[A-Za-z0-9][A-Za-z0-9:_/+=,@.-]{0,1023}$';

const TAG = {
  type: 'structure',
  members: {
    Key: { type: 'string', required: true, min: 1, max: 100, pattern: TAG_PATTERN },
    Value: { type: 'string', required: true, min: 1, max: 256, pattern: TAG_PATTERN },
  },
} as const satisfies MemberSpec;

const USAGE_ALLOCATIONS = {
  type: 'list',
  min: 1,
  max: 2500,
  member: {
    type: 'structure',
    members: {
      AllocatedUsageQuantity: { ...QUANTITY, required: true },
      Tags: { type: 'list', min: 1, max: 5, member: TAG },
    },
  },
} as const satisfies MemberSpec;

export const METER_USAGE_INPUT = {
  ProductCode: PRODUCT_CODE,
  Timestamp: { type: 'timestamp', required: true },
  UsageDimension: DIMENSION,
  UsageQuantity: QUANTITY,
  DryRun: { type: 'boolean' },
  UsageAllocations: USAGE_ALLOCATIONS,
  ClientToken: { type: 'string', min: 1, max: 64 },
} as const satisfies ShapeSpec;

const USAGE_RECORD = {
  type: 'structure',
  members: {
    Timestamp: { type: 'timestamp', required: true },
    CustomerIdentifier: { type: 'string', max: 255 },
    Dimension: DIMENSION,
    Quantity: QUANTITY,
    UsageAllocations: USAGE_ALLOCATIONS,
    CustomerAWSAccountId: { type: 'string', min: 1, max: 255, pattern: '^[0-9]+$' },
    LicenseArn: { type: 'string', pattern: LICENSE_ARN_PATTERN },
  },
} as const satisfies MemberSpec;

export const BATCH_METER_USAGE_INPUT = {
  UsageRecords: { type: 'list', required: true, min: 0, max: 25, member: USAGE_RECORD },
  ProductCode: { ...PRODUCT_CODE, required: false },
} as const satisfies ShapeSpec;

export const RESOLVE_CUSTOMER_INPUT = {
  RegistrationToken: { type: 'string', required: true, pattern: ANY },
} as const satisfies ShapeSpec;

/** What readInput returns for these shapes, typed (it has checked every member already). */
export interface WireTag {
  readonly Key: string;
  readonly Value: string;
}
export interface WireAllocation {
  readonly AllocatedUsageQuantity: number;
  readonly Tags?: readonly WireTag[];
}
export interface WireUsageRecord {
  readonly Timestamp: number;
  readonly CustomerIdentifier?: string;
  readonly Dimension: string;
  readonly Quantity?: number;
  readonly UsageAllocations?: readonly WireAllocation[];
  readonly CustomerAWSAccountId?: string;
  readonly LicenseArn?: string;
}
