/**
 * ExtendLicenseConsumption: a running checkout keeps its units for another consumption TTL, counted
 * from now (the new Expiration is answered; the token stays the same). A token this account never
 * got, or a checkout checked in or past its Expiration -> ResourceNotFoundException: the units are
 * already back in the pool and a new CheckoutLicense is needed. DryRun checks all of that and changes
 * nothing (the answer carries the current Expiration); the model has no DryRunOperation error.
 */
import type { ApiOperation, OperationCall } from '../service.js';
import { accountOf, authorize } from './authorization.js';
import { ConsumptionLedger, type Consumption } from './consumptions.js';
import { lmError } from './errors.js';
import { EXTEND_LICENSE_CONSUMPTION_INPUT } from './shapes.js';

/** The account's checkout that still holds its units, or the ResourceNotFoundException AWS answers. */
export function activeConsumption(call: OperationCall, account: string, token: string): Consumption {
  const consumption = call.deps.store.consumptions.find(token);
  if (consumption === undefined || consumption.accountId !== account) throw lmError('ResourceNotFoundException', 'No license consumption has this LicenseConsumptionToken.');
  if (consumption.checkedIn) throw lmError('ResourceNotFoundException', 'This license consumption was checked in.');
  if (!ConsumptionLedger.holds(consumption, call.deps.now().getTime())) {
    throw lmError('ResourceNotFoundException', `This license consumption expired at ${new Date(consumption.expiresAt).toISOString()}.`);
  }
  return consumption;
}

export const extendLicenseConsumption: ApiOperation = {
  input: EXTEND_LICENSE_CONSUMPTION_INPUT,
  rateLimit: (scenario) => scenario.licenseManagerRateLimit,

  async run(call: OperationCall): Promise<Record<string, unknown>> {
    authorize(call);
    const token = call.input['LicenseConsumptionToken'] as string;
    const consumption = activeConsumption(call, accountOf(call), token);
    if (call.input['DryRun'] !== true) consumption.expiresAt = call.deps.now().getTime() + call.deps.config.consumptionTtlMs;
    return { LicenseConsumptionToken: token, Expiration: new Date(consumption.expiresAt).toISOString() };
  },
};
