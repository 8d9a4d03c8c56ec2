/**
 * ListReceivedLicenses: the licenses of the caller's account (current versions, oldest first), as
 * GrantedLicense (a License plus ReceivedMetadata). LicenseArns keeps only those; Filters take the
 * model's names (ProductSKU, Status, Fingerprint, IssuerName, Beneficiary), a license matching one of
 * a filter's Values and every filter; another name, or a filter without Values ->
 * InvalidParameterValueException. Pages of MaxResults (default 100); NextToken is the emulator's own
 * and only good for the same query (else InvalidParameterValueException).
 */
import { createHash } from 'node:crypto';
import type { ApiOperation, OperationCall } from '../service.js';
import { accountOf, authorize } from './authorization.js';
import { lmError } from './errors.js';
import { wireLicense } from './licenses.js';
import type { LicenseRecord } from './seeds.js';
import { LIST_RECEIVED_LICENSES_INPUT, type WireFilter } from './shapes.js';

const FILTERS: Readonly<Record<string, (l: LicenseRecord) => string>> = {
  ProductSKU: (l) => l.productSku,
  Status: (l) => l.status,
  Fingerprint: (l) => l.issuer.keyFingerprint,
  IssuerName: (l) => l.issuer.name,
  Beneficiary: (l) => l.beneficiaryAccountId,
};

function matcher(filters: readonly WireFilter[]): (l: LicenseRecord) => boolean {
  const checks = filters.map((f) => {
    const read = f.Name !== undefined && Object.hasOwn(FILTERS, f.Name) ? FILTERS[f.Name] : undefined;
    if (read === undefined) throw lmError('InvalidParameterValueException', `Filter name '${f.Name ?? ''}' is not supported; use one of: ${Object.keys(FILTERS).join(', ')}.`);
    if (f.Values === undefined || f.Values.length === 0) throw lmError('InvalidParameterValueException', `Filter ${f.Name ?? ''} needs at least one value.`);
    const values = f.Values;
    return (l: LicenseRecord) => values.includes(read(l));
  });
  return (l) => checks.every((check) => check(l));
}

export const listReceivedLicenses: ApiOperation = {
  input: LIST_RECEIVED_LICENSES_INPUT,
  rateLimit: (scenario) => scenario.licenseManagerRateLimit,

  async run(call: OperationCall): Promise<Record<string, unknown>> {
    authorize(call);
    const account = accountOf(call);
    const arns = call.input['LicenseArns'] as string[] | undefined;
    const filters = (call.input['Filters'] as WireFilter[] | undefined) ?? [];
    const max = (call.input['MaxResults'] as number | undefined) ?? 100;
    const matches = matcher(filters);
    const query = createHash('sha256').update(JSON.stringify([account, arns ?? null, filters])).digest('hex').slice(0, 16);
    let offset = 0;
    const next = call.input['NextToken'] as string | undefined;
    if (next !== undefined) {
      const m = /^(\d{1,9})\.([0-9a-f]{16})$/.exec(Buffer.from(next, 'base64url').toString('utf8'));
      if (m === null || m[2] !== query) throw lmError('InvalidParameterValueException', 'The NextToken is not one this query was given.');
      offset = Number(m[1]);
    }
    const { config, licenseIssuer, store } = call.deps;
    const found = store.licenses.all().filter((l) => l.beneficiaryAccountId === account && (arns === undefined || arns.includes(l.licenseArn)) && matches(l));
    const page = found.slice(offset, offset + max).map((l) => ({
      ...wireLicense(l, { consumptionTtlMs: config.consumptionTtlMs, signKeyArn: licenseIssuer.signKeyArn(l.homeRegion) }),
      ReceivedMetadata: {
        ReceivedStatus: l.status === 'DELETED' ? 'DELETED' : 'ACTIVE',
        AllowedOperations: ['CheckoutLicense', 'CheckInLicense', 'ExtendConsumptionLicense', 'ListPurchasedLicenses'],
      },
    }));
    const more = offset + max < found.length;
    return { Licenses: page, ...(more ? { NextToken: Buffer.from(`${offset + max}.${query}`).toString('base64url') } : {}) };
  },
};
