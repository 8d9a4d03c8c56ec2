/**
 * The input shapes of the License Manager operations the emulator serves, from the service model
 * (botocore's license-manager 2018-08-01, which the SDK v3's agrees with for these members). The
 * model has few traits here: ClientToken's length and pattern, the enums, the ARN pattern and
 * MaxResults' range; everything else is the operation's own check.
 */
import type { MemberSpec, ShapeSpec } from '../validate.js';

/** EntitlementDataUnit / EntitlementUnit, in the model's order. */
export const ENTITLEMENT_UNITS = [
  'Count', 'None', 'Seconds', 'Microseconds', 'Milliseconds', 'Bytes', 'Kilobytes', 'Megabytes', 'Gigabytes', 'Terabytes',
  'Bits', 'Kilobits', 'Megabits', 'Gigabits', 'Terabits', 'Percent', 'Bytes/Second', 'Kilobytes/Second', 'Megabytes/Second',
  'Gigabytes/Second', 'Terabytes/Second', 'Bits/Second', 'Kilobits/Second', 'Megabits/Second', 'Gigabits/Second',
  'Terabits/Second', 'Count/Second',
] as const;
export type EntitlementUnit = (typeof ENTITLEMENT_UNITS)[number];

export const CHECKOUT_TYPES = ['PROVISIONAL', 'PERPETUAL'] as const;
export type CheckoutType = (typeof CHECKOUT_TYPES)[number];

/** The model's Arn pattern, verbatim. */
export const ARN_PATTERN =
  '^arn:aws(-(cn|us-gov|iso-b|iso-c|iso-d))?:[A-Za-z0-9][A-Za-z0-9_/.-]{0,62}:[A-Za-z0-9_/.-]{0,63}:[A-Za-z0-9_/.-]{0,63}:[A-Za-z0-9][A-Za-z0-9:_/+=,@.-]{0,1023}$';
const ARN = { type: 'string', max: 2048, pattern: ARN_PATTERN } as const;
const STRING = { type: 'string' } as const;

const ENTITLEMENT_DATA = {
  type: 'structure',
  members: {
    Name: { ...STRING, required: true },
    Value: STRING,
    Unit: { type: 'string', required: true, enum: ENTITLEMENT_UNITS },
  },
} as const satisfies MemberSpec;

export const CHECKOUT_LICENSE_INPUT = {
  ProductSKU: { ...STRING, required: true },
  CheckoutType: { type: 'string', required: true, enum: CHECKOUT_TYPES },
  KeyFingerprint: { ...STRING, required: true },
  Entitlements: { type: 'list', required: true, member: ENTITLEMENT_DATA },
  ClientToken: { type: 'string', required: true, max: 2048, pattern: '\\S+' },
  Beneficiary: STRING,
  NodeId: STRING,
} as const satisfies ShapeSpec;

export const CHECK_IN_LICENSE_INPUT = {
  LicenseConsumptionToken: { ...STRING, required: true },
  Beneficiary: STRING,
} as const satisfies ShapeSpec;

export const EXTEND_LICENSE_CONSUMPTION_INPUT = {
  LicenseConsumptionToken: { ...STRING, required: true },
  DryRun: { type: 'boolean' },
} as const satisfies ShapeSpec;

export const GET_LICENSE_INPUT = {
  LicenseArn: { ...ARN, required: true },
  Version: STRING,
} as const satisfies ShapeSpec;

export const LIST_RECEIVED_LICENSES_INPUT = {
  LicenseArns: { type: 'list', member: ARN },
  Filters: {
    type: 'list',
    member: { type: 'structure', members: { Name: STRING, Values: { type: 'list', member: STRING } } },
  },
  NextToken: STRING,
  MaxResults: { type: 'integer', min: 1, max: 100 },
} as const satisfies ShapeSpec;

export const GET_ACCESS_TOKEN_INPUT = {
  Token: { type: 'string', required: true, max: 4096, pattern: '\\S+' },
  TokenProperties: { type: 'list', max: 3, member: STRING },
} as const satisfies ShapeSpec;

/** What readInput returns for these shapes, typed (it has checked every member already). */
export interface WireEntitlementData {
  readonly Name: string;
  readonly Value?: string;
  readonly Unit: EntitlementUnit;
}
export interface CheckoutLicenseInput {
  readonly ProductSKU: string;
  readonly CheckoutType: CheckoutType;
  readonly KeyFingerprint: string;
  readonly Entitlements: readonly WireEntitlementData[];
  readonly ClientToken: string;
  readonly Beneficiary?: string;
  readonly NodeId?: string;
}
export interface WireFilter {
  readonly Name?: string;
  readonly Values?: readonly string[];
}
