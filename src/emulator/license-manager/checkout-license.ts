/**
 * CheckoutLicense: a running task or pod checks its license. After the common pipeline, in order:
 *   1. the scenario's authorizationErrors for this credential    -> AuthorizationException, AccessDeniedException
 *   2. ClientToken seen before in this account: the same request gets the first answer again (no second
 *      seat); other parameters -> InvalidParameterValueException (the model has no idempotency error)
 *   3. the license: the caller's account + ProductSKU + KeyFingerprint (the issuer's, exactly: a license
 *      a buyer issued to themselves never has AWS Marketplace's); several -> the most recently created,
 *      as AWS is reported to pick; none -> NoEntitlementsAllowedException
 *   4. its home region                                            -> RedirectException, Location = that region
 *   5. status AVAILABLE and now within Validity                   -> NoEntitlementsAllowedException
 *   6. the entitlements asked for: each the license has (name AND unit equal) is taken, the others are
 *      left out of EntitlementsAllowed (asking for every tier finds the one bought); none left ->
 *      NoEntitlementsAllowedException (so does `None` for a `Count` entitlement). A pooled one (MaxCount)
 *      needs a Value: a whole number of units >= 1 for Count, a positive number for other units
 *      (InvalidParameterValueException otherwise), and the pool must still hold it unless Overage ->
 *      NoEntitlementsAllowedException. Partial checkouts are not supported: one pool short fails the call.
 *   7. the checkout is recorded: PROVISIONAL units come back at Expiration (now + the consumption TTL)
 *      or on CheckInLicense; PERPETUAL units are spent.
 */
import { randomBytes } from 'node:crypto';
import type { ApiOperation, OperationCall } from '../service.js';
import { accountOf, authorize } from './authorization.js';
import type { TakenEntitlement } from './consumptions.js';
import { lmError, redirectTo } from './errors.js';
import type { LicenseEntitlement, LicenseRecord } from './seeds.js';
import { CHECKOUT_LICENSE_INPUT, type CheckoutLicenseInput, type WireEntitlementData } from './shapes.js';

const noEntitlements = (detail: string) => lmError('NoEntitlementsAllowedException', detail);

/** Units a request asks of one entitlement the license has. */
function unitsAsked(asked: WireEntitlementData, held: LicenseEntitlement): number {
  if (held.unit === 'None') return 0;
  const value = asked.Value;
  if (value === undefined) {
    if (held.maxCount === null) return 0;
    throw lmError('InvalidParameterValueException', `Entitlement ${held.name} (${held.unit}) has a MaxCount: the checkout needs a Value, the number of units to take.`);
  }
  const whole = held.unit === 'Count' || held.unit === 'Count/Second';
  const units = (whole ? /^\d{1,15}$/ : /^\d{1,15}(\.\d{1,9})?$/).test(value) ? Number(value) : Number.NaN;
  if (!(units > 0)) {
    throw lmError('InvalidParameterValueException', `Value '${value}' of entitlement ${held.name} must be ${whole ? 'a whole number >= 1' : 'a number > 0'} of ${held.unit}.`);
  }
  return units;
}

function checkLicenseUsable(license: LicenseRecord, region: string, at: number): void {
  if (license.homeRegion !== region) throw redirectTo(license.homeRegion);
  if (license.status !== 'AVAILABLE') throw noEntitlements(`License ${license.licenseArn} is ${license.status}.`);
  if (at < Date.parse(license.validity.begin)) throw noEntitlements(`License ${license.licenseArn} is valid from ${license.validity.begin}.`);
  if (license.validity.end !== null && at >= Date.parse(license.validity.end)) throw noEntitlements(`License ${license.licenseArn} expired at ${license.validity.end}.`);
}

function take(call: OperationCall, license: LicenseRecord, input: CheckoutLicenseInput, at: number): TakenEntitlement[] {
  const names = input.Entitlements.map((e) => `${e.Name}/${e.Unit}`);
  const twice = input.Entitlements.find((_, i) => names.indexOf(names[i] as string) !== i);
  if (twice !== undefined) throw lmError('InvalidParameterValueException', `Entitlement ${twice.Name} (${twice.Unit}) is asked for twice.`);
  const taken: TakenEntitlement[] = [];
  for (const asked of input.Entitlements) {
    const held = license.entitlements.find((e) => e.name === asked.Name && e.unit === asked.Unit);
    if (held === undefined) continue;
    const units = unitsAsked(asked, held);
    if (held.maxCount !== null && !held.overage) {
      const { inUse, consumed } = call.deps.store.consumptions.use(license.licenseArn, held.name, at);
      const left = Math.max(0, held.maxCount - inUse - consumed);
      if (units > left) throw noEntitlements(`Entitlement ${held.name}: ${left} of ${held.maxCount} ${held.unit} left (${inUse} in use, ${consumed} consumed), ${units} asked.`);
    }
    taken.push({ name: held.name, unit: held.unit, value: asked.Value ?? null, units });
  }
  if (taken.length === 0) {
    const has = license.entitlements.map((e) => `${e.name} (${e.unit})`).join(', ');
    throw noEntitlements(`License ${license.licenseArn} has none of the entitlements asked for (name and unit must both match); it has: ${has}.`);
  }
  return taken;
}

export const checkoutLicense: ApiOperation = {
  input: CHECKOUT_LICENSE_INPUT,
  rateLimit: (scenario) => scenario.licenseManagerRateLimit,

  async run(call: OperationCall): Promise<Record<string, unknown>> {
    authorize(call);
    const account = accountOf(call);
    const { store, config, licenseIssuer } = call.deps;
    const at = call.deps.now().getTime();
    const input = call.input as unknown as CheckoutLicenseInput;

    const request = JSON.stringify([
      input.ProductSKU, input.CheckoutType, input.KeyFingerprint,
      input.Entitlements.map((e) => [e.Name, e.Unit, e.Value ?? null]), input.Beneficiary ?? null, input.NodeId ?? null,
    ]);
    const tokenKey = `${account}/${input.ClientToken}`;
    const earlier = store.consumptions.clientToken(tokenKey);
    if (earlier !== undefined) {
      if (earlier.request !== request) throw lmError('InvalidParameterValueException', 'The ClientToken was used before with different parameters.');
      return earlier.response;
    }

    const license = store.licenses
      .all()
      .filter((l) => l.beneficiaryAccountId === account && l.productSku === input.ProductSKU && l.issuer.keyFingerprint === input.KeyFingerprint)
      .at(-1);
    if (license === undefined) {
      throw noEntitlements(`Account ${account} has no license of product SKU ${input.ProductSKU} from the issuer with key fingerprint ${input.KeyFingerprint}.`);
    }
    checkLicenseUsable(license, config.region, at);
    const taken = take(call, license, input, at);

    const token = randomBytes(16).toString('hex');
    const expiresAt = at + config.consumptionTtlMs;
    store.consumptions.add({
      token,
      licenseArn: license.licenseArn,
      accountId: account,
      checkoutType: input.CheckoutType,
      entitlements: taken,
      nodeId: input.NodeId ?? null,
      issuedAt: at,
      expiresAt,
      checkedIn: false,
    });
    const allowed = taken.map((e) => ({ Name: e.name, ...(e.value === null ? {} : { Value: e.value }), Unit: e.unit }));
    const signedToken = license.signed
      ? await licenseIssuer.sign({
          licenseArn: license.licenseArn,
          licenseConsumptionToken: token,
          entitlementsAllowed: taken.map((e) => ({ name: e.name, ...(e.value === null ? {} : { value: e.value }), unit: e.unit })),
          ...(input.NodeId === undefined ? {} : { nodeId: input.NodeId }),
          checkoutType: input.CheckoutType,
          issuedAt: at,
          expiration: expiresAt,
        })
      : undefined;
    // The model's member order.
    const response: Record<string, unknown> = {
      CheckoutType: input.CheckoutType,
      LicenseConsumptionToken: token,
      EntitlementsAllowed: allowed,
      ...(signedToken === undefined ? {} : { SignedToken: signedToken }),
      ...(input.NodeId === undefined ? {} : { NodeId: input.NodeId }),
      IssuedAt: new Date(at).toISOString(),
      Expiration: new Date(expiresAt).toISOString(),
      LicenseArn: license.licenseArn,
    };
    store.consumptions.rememberClientToken(tokenKey, request, response);
    return response;
  },
};
