/**
 * GetLicense: a license of the caller's account, its current version or the one asked for by
 * Version. The model gives GetLicense no ResourceNotFoundException, so an ARN the account holds no
 * license under (unknown, or another account's) and a Version that does not exist are
 * InvalidParameterValueException, the modelled error about bad parameters.
 */
import type { ApiOperation, OperationCall } from '../service.js';
import { accountOf, authorize } from './authorization.js';
import { lmError } from './errors.js';
import { wireLicense } from './licenses.js';
import { GET_LICENSE_INPUT } from './shapes.js';

export const getLicense: ApiOperation = {
  input: GET_LICENSE_INPUT,
  rateLimit: (scenario) => scenario.licenseManagerRateLimit,

  async run(call: OperationCall): Promise<Record<string, unknown>> {
    authorize(call);
    const account = accountOf(call);
    const arn = call.input['LicenseArn'] as string;
    const asked = call.input['Version'] as string | undefined;
    const { licenses } = call.deps.store;
    const current = licenses.current(arn);
    if (current === undefined || current.beneficiaryAccountId !== account) throw lmError('InvalidParameterValueException', `Account ${account} has no license ${arn}.`);
    const license = asked === undefined ? current : /^[1-9]\d{0,8}$/.test(asked) ? licenses.version(arn, Number(asked)) : undefined;
    if (license === undefined) throw lmError('InvalidParameterValueException', `License ${arn} has no version '${asked ?? ''}'; its versions are 1 to ${current.version}.`);
    const { config, licenseIssuer } = call.deps;
    return { License: wireLicense(license, { consumptionTtlMs: config.consumptionTtlMs, signKeyArn: licenseIssuer.signKeyArn(license.homeRegion) }) };
  },
};
