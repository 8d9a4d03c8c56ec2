/**
 * BatchMeterUsage: a SaaS application reports up to 25 records for its customers. After the common
 * pipeline, the whole call is rejected by the first of these, checked record by record in order:
 *   1. the request's ProductCode configured?, then the mode's every-call failures
 *   2. exactly one of CustomerIdentifier / CustomerAWSAccountId  -> InvalidCustomerIdentifierException
 *      (the model leaves both optional and cannot say "exactly one"; the docs call them mutually
 *      exclusive, and this is the modelled error about customer ids)
 *   3. the product: the license's when the record has a LicenseArn (unknown license, a license of
 *      another customer, or of another product than the request's -> InvalidLicenseException), else
 *      the request's ProductCode (absent -> InvalidProductCodeException); one product per call
 *   4. configured dimensions, tags, allocations                  -> InvalidUsageDimension/Tag/UsageAllocations
 *   5. any Timestamp outside look-back .. now + 5 min, or in a closed billing month -> TimestampOutOfBoundsException
 * Then each record gets a status, in order: the `unprocessed` fault (-> UnprocessedRecords); not a
 * subscribed customer of that product (an id that is not an account's, e.g. not 12 digits, included)
 * -> CustomerNotSubscribed; a record for the same product, license, customer, dimension and hour
 * exists -> Success with its id when quantity and allocations are the same, else DuplicateRecord.
 * The license is part of that key: AWS bills a ProductCode record and a LicenseArn record for the same
 * customer and hour separately.
 */
import { randomUUID } from 'node:crypto';
import type { SubscribedCustomer } from './customers.js';
import { modelError } from './errors.js';
import { modeFailure } from './modes.js';
import type { ApiOperation, OperationCall } from '../service.js';
import { BATCH_METER_USAGE_INPUT } from './shapes.js';
import type { WireUsageRecord } from './shapes.js';
import { wrongRegionSignature } from '../sigv4.js';
import { checkAllocations, checkBillingMonth, checkWindow, hourOfTimestamp, isoOrRaw, recordedAllocations, usageFingerprint } from './usage-rules.js';

const sameCustomer = (c: SubscribedCustomer, r: WireUsageRecord): boolean =>
  r.CustomerIdentifier !== undefined ? c.customerIdentifier === r.CustomerIdentifier : c.customerAWSAccountId === r.CustomerAWSAccountId;

function productOf(r: WireUsageRecord, requested: string | undefined, subscribed: readonly SubscribedCustomer[], where: string): string {
  if (r.LicenseArn === undefined) {
    if (requested === undefined) throw modelError('InvalidProductCodeException', `${where}ProductCode is required for records without a LicenseArn.`);
    return requested;
  }
  const holders = subscribed.filter((c) => c.licenseArn === r.LicenseArn);
  if (holders.length === 0) throw modelError('InvalidLicenseException', `${where}No license ${r.LicenseArn}.`);
  const holder = holders.find((c) => sameCustomer(c, r));
  if (holder === undefined) throw modelError('InvalidLicenseException', `${where}License ${r.LicenseArn} is not the record's customer's.`);
  if (requested !== undefined && requested !== holder.productCode) {
    throw modelError('InvalidLicenseException', `${where}License ${r.LicenseArn} is for ${holder.productCode}, not ${requested}.`);
  }
  return holder.productCode;
}

export const batchMeterUsage: ApiOperation = {
  input: BATCH_METER_USAGE_INPUT,
  rateLimit: (scenario) => scenario.batchMeterUsageRateLimit,
  regionError: wrongRegionSignature,

  async run(call: OperationCall): Promise<Record<string, unknown>> {
    const { config, now, store } = call.deps;
    const records = call.input['UsageRecords'] as WireUsageRecord[];
    const requested = call.input['ProductCode'] as string | undefined;
    if (requested !== undefined && config.productCodes !== null && !config.productCodes.has(requested)) throw modelError('InvalidProductCodeException');
    const failure = modeFailure(call);
    if (failure !== undefined) throw failure;

    const subscribed = store.customers.subscribed();
    const products = records.map((r, i) => {
      const where = `usageRecords.${i + 1}: `;
      if ((r.CustomerIdentifier === undefined) === (r.CustomerAWSAccountId === undefined)) {
        const why = r.CustomerIdentifier === undefined ? 'needs a CustomerIdentifier or a CustomerAWSAccountId' : 'has both CustomerIdentifier and CustomerAWSAccountId; they are mutually exclusive';
        throw modelError('InvalidCustomerIdentifierException', `${where}The record ${why}.`);
      }
      const product = productOf(r, requested, subscribed, where);
      if (config.dimensions !== null && !config.dimensions.has(r.Dimension)) {
        throw modelError('InvalidUsageDimensionException', `${where}"${r.Dimension}" is not one of: ${[...config.dimensions].join(', ')}.`);
      }
      checkAllocations(r.UsageAllocations, r.Quantity ?? 0, where);
      return product;
    });
    const distinct = [...new Set(products)];
    if (distinct.length > 1) throw modelError('InvalidProductCodeException', `A call is for one product; its records are for ${distinct.join(', ')}.`);
    records.forEach((r, i) => {
      checkWindow(r.Timestamp, now(), config.batchMeterUsageLookBackMs, `usageRecords.${i + 1}: `);
      checkBillingMonth(r.Timestamp, now(), `usageRecords.${i + 1}: `);
    });

    const results: Record<string, unknown>[] = [];
    const unprocessed: WireUsageRecord[] = [];
    records.forEach((r, i) => {
      if (call.faultsApply && store.consume('unprocessed')) {
        unprocessed.push(r);
        return;
      }
      const product = products[i] as string;
      const customer = subscribed.find((c) => sameCustomer(c, r) && c.productCode === product && (r.LicenseArn === undefined || c.licenseArn === r.LicenseArn));
      if (customer === undefined) {
        results.push({ UsageRecord: r, Status: 'CustomerNotSubscribed' });
        return;
      }
      const quantity = r.Quantity ?? 0;
      const hour = hourOfTimestamp(r.Timestamp);
      const who = customer.customerAWSAccountId ?? `id:${customer.customerIdentifier ?? ''}`;
      const key = JSON.stringify(['BatchMeterUsage', product, r.LicenseArn ?? null, who, r.Dimension, hour]);
      const value = usageFingerprint(quantity, r.UsageAllocations);
      const existing = store.records.find(key);
      if (existing !== undefined) {
        if (existing.fingerprint === value) results.push({ UsageRecord: r, MeteringRecordId: existing.record.meteringRecordId, Status: 'Success' });
        else results.push({ UsageRecord: r, Status: 'DuplicateRecord' });
        return;
      }
      const meteringRecordId = randomUUID();
      store.records.add(key, value, {
        operation: 'BatchMeterUsage',
        meteringRecordId,
        caller: call.caller,
        productCode: product,
        dimension: r.Dimension,
        hour: new Date(hour).toISOString(),
        timestamp: isoOrRaw(r.Timestamp),
        quantity,
        allocations: recordedAllocations(r.UsageAllocations),
        clientToken: null,
        customerIdentifier: customer.customerIdentifier ?? null,
        customerAWSAccountId: customer.customerAWSAccountId ?? null,
        licenseArn: r.LicenseArn ?? null,
        time: now().toISOString(),
      });
      results.push({ UsageRecord: r, MeteringRecordId: meteringRecordId, Status: 'Success' });
    });
    return { Results: results, UnprocessedRecords: unprocessed };
  },
};
