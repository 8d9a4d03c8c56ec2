/**
 * CheckInLicense: a checkout's units go back to the pool at once. In order, after authorization:
 *   - a token this account never got, or a checkout already checked in or past its Expiration (the
 *     consumption no longer exists)                              -> ResourceNotFoundException
 *   - a PERPETUAL checkout (its units are spent), or one of an entitlement with AllowCheckIn false
 *                                                                 -> ConflictException
 * Beneficiary is accepted and not compared (the emulator's licenses have one beneficiary: the account).
 */
import type { ApiOperation, OperationCall } from '../service.js';
import { accountOf, authorize } from './authorization.js';
import { activeConsumption } from './extend-license-consumption.js';
import { lmError } from './errors.js';
import { CHECK_IN_LICENSE_INPUT } from './shapes.js';

export const checkInLicense: ApiOperation = {
  input: CHECK_IN_LICENSE_INPUT,
  rateLimit: (scenario) => scenario.licenseManagerRateLimit,

  async run(call: OperationCall): Promise<Record<string, unknown>> {
    authorize(call);
    const consumption = activeConsumption(call, accountOf(call), call.input['LicenseConsumptionToken'] as string);
    if (consumption.checkoutType === 'PERPETUAL') {
      throw lmError('ConflictException', 'A PERPETUAL checkout spends its units for good; it cannot be checked in.');
    }
    const license = call.deps.store.licenses.current(consumption.licenseArn);
    const locked = consumption.entitlements.find((e) => license?.entitlements.find((l) => l.name === e.name)?.allowCheckIn === false);
    if (locked !== undefined) throw lmError('ConflictException', `Entitlement ${locked.name} does not allow check-in; its units return at the checkout's Expiration.`);
    consumption.checkedIn = true;
    return {};
  },
};
