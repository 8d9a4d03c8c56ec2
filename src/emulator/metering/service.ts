/**
 * The AWS Marketplace Metering Service as the emulator serves it: AWS JSON 1.1 under the target prefix
 * `AWSMPMeteringService.`, SigV4 signing name `aws-marketplace`, four operations.
 */
import type { Service } from '../service.js';
import { batchMeterUsage } from './batch-meter-usage.js';
import { meteringError, METERING_MESSAGES } from './errors.js';
import { meterUsage } from './meter-usage.js';
import { registerUsage } from './register-usage.js';
import { resolveCustomer } from './resolve-customer.js';

export const meteringService: Service = {
  name: 'Marketplace Metering',
  signingName: 'aws-marketplace',
  protocol: { kind: 'json-1.1', targetPrefix: 'AWSMPMeteringService.', errorMessageKey: 'message' },
  operations: {
    RegisterUsage: registerUsage,
    MeterUsage: meterUsage,
    BatchMeterUsage: batchMeterUsage,
    ResolveCustomer: resolveCustomer,
  },
  throttled: () => meteringError('ThrottlingException', METERING_MESSAGES.rateExceeded),
  internalError: () => meteringError('InternalServiceErrorException', METERING_MESSAGES.internal),
};
