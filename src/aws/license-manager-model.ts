/**
 * What configuration needs to know of License Manager, without loading its SDK client: an hourly
 * product's start never pays for the License Manager client's modules.
 */

/** License Manager's entitlement units (EntitlementDataUnit in its model). */
export const LICENSE_UNITS = [
  'Count', 'None', 'Seconds', 'Microseconds', 'Milliseconds', 'Bytes', 'Kilobytes', 'Megabytes', 'Gigabytes', 'Terabytes',
  'Bits', 'Kilobits', 'Megabits', 'Gigabits', 'Terabits', 'Percent', 'Bytes/Second', 'Kilobytes/Second', 'Megabytes/Second',
  'Gigabytes/Second', 'Terabytes/Second', 'Bits/Second', 'Kilobits/Second', 'Megabits/Second', 'Gigabits/Second', 'Terabits/Second',
  'Count/Second',
] as const;
export type LicenseUnit = (typeof LICENSE_UNITS)[number];

export const CHECKOUT_TYPES = ['PROVISIONAL', 'PERPETUAL'] as const;
export type CheckoutType = (typeof CHECKOUT_TYPES)[number];

/** Where the endpoint override comes from, as the SDK reads it (service id "License Manager"). */
export function licenseManagerEndpointOverride(env: NodeJS.ProcessEnv): string | undefined {
  return env.AWS_ENDPOINT_URL_LICENSE_MANAGER || env.AWS_ENDPOINT_URL || undefined;
}

/** Where the buyer's license Secret (license_token, iam_role) is mounted outside AWS, by default. */
export const DEFAULT_LICENSE_TOKEN_DIR = '/var/run/secrets/product-license';
