/**
 * AWS License Manager as the emulator serves it: AWS JSON 1.1 under the target prefix
 * `AWSLicenseManager.`, SigV4 signing name `license-manager`, errors with `Message` (capital M), the
 * five operations a contract-priced container product needs, and GetAccessToken for Containers
 * Anywhere (unsigned).
 */
import type { Service } from '../service.js';
import { checkInLicense } from './check-in-license.js';
import { checkoutLicense } from './checkout-license.js';
import { lmError } from './errors.js';
import { extendLicenseConsumption } from './extend-license-consumption.js';
import { getAccessToken } from './get-access-token.js';
import { getLicense } from './get-license.js';
import { listReceivedLicenses } from './list-received-licenses.js';

export const licenseManagerService: Service = {
  name: 'License Manager',
  signingName: 'license-manager',
  protocol: { kind: 'json-1.1', targetPrefix: 'AWSLicenseManager.', errorMessageKey: 'Message' },
  operations: {
    CheckoutLicense: checkoutLicense,
    CheckInLicense: checkInLicense,
    ExtendLicenseConsumption: extendLicenseConsumption,
    GetLicense: getLicense,
    ListReceivedLicenses: listReceivedLicenses,
    GetAccessToken: getAccessToken,
  },
  throttled: () => lmError('RateLimitExceededException'),
  internalError: () => lmError('ServerInternalException'),
};
