/**
 * ResolveCustomer: a SaaS application redeems the registration token the buyer's browser brought.
 * Tokens come from the emulator (`POST /_emulator/registration-tokens` or
 * `emulator.issueRegistrationToken`); the same token resolves to the same customer until it expires.
 * Order after the common pipeline: the mode (`disabled-api` only), then the token.
 */
import { modelError } from './errors.js';
import { modeFailure } from './modes.js';
import type { ApiOperation, OperationCall } from '../service.js';
import { RESOLVE_CUSTOMER_INPUT } from './shapes.js';
import { wrongRegionSignature } from '../sigv4.js';

export const resolveCustomer: ApiOperation = {
  input: RESOLVE_CUSTOMER_INPUT,
  rateLimit: (scenario) => scenario.resolveCustomerRateLimit,
  regionError: wrongRegionSignature,

  async run(call: OperationCall): Promise<Record<string, unknown>> {
    const failure = modeFailure(call);
    if (failure !== undefined) throw failure;
    const answer = call.deps.store.customers.resolve(call.input['RegistrationToken'] as string, call.deps.now());
    if (answer === 'invalid') throw modelError('InvalidTokenException');
    if (answer === 'expired') throw modelError('ExpiredTokenException');
    // The model's member order; absent members are left out, as AWS leaves out CustomerIdentifier for new integrations.
    const result: Record<string, unknown> = {};
    if (answer.customerIdentifier !== undefined) result['CustomerIdentifier'] = answer.customerIdentifier;
    result['ProductCode'] = answer.productCode;
    if (answer.customerAWSAccountId !== undefined) result['CustomerAWSAccountId'] = answer.customerAWSAccountId;
    if (answer.licenseArn !== undefined) result['LicenseArn'] = answer.licenseArn;
    return result;
  },
};
