import {
  CheckInLicenseCommand,
  CheckoutLicenseCommand,
  ExtendLicenseConsumptionCommand,
  GetLicenseCommand,
  LicenseManagerClient,
  type CheckoutLicenseResponse,
  type License,
} from '@aws-sdk/client-license-manager';
import { randomUUID } from 'node:crypto';
import type { CredentialProvider } from './credentials.js';
import { AWS_MARKETPLACE_KEY_FINGERPRINT } from '../entitlement/license-constants.js';
import { malformedResponse } from './errors.js';
import type { CheckoutType, LicenseUnit } from './license-manager-model.js';
import { DEFAULT_RETRY_POLICY, retryWithBackoff, type AttemptReport, type RetryDeps, type RetryResult } from './retry.js';

/**
 * AWS License Manager as contract-priced products use it: CheckoutLicense pinned to AWS Marketplace's
 * issuer fingerprint, ExtendLicenseConsumption to keep a seat, CheckInLicense to give it back, and
 * GetLicense to learn of renewals, upgrades, expiry and cancellation. Each call is retried with the
 * shared loop (aws/retry.ts) and classified by the one classifier (aws/errors.ts).
 */

export { AWS_MARKETPLACE_KEY_FINGERPRINT };
export { licenseManagerEndpointOverride } from './license-manager-model.js';
import { licenseManagerEndpointOverride } from './license-manager-model.js';
export { CHECKOUT_TYPES, LICENSE_UNITS, type CheckoutType, type LicenseUnit } from './license-manager-model.js';

/** What the sidecar needs of a License Manager client. */
export type LicenseClient = Pick<LicenseManagerClient, 'send'>;

export function createLicenseManagerClient(region: string, env: NodeJS.ProcessEnv, credentials: CredentialProvider): LicenseManagerClient {
  const endpoint = licenseManagerEndpointOverride(env);
  return new LicenseManagerClient({
    region,
    maxAttempts: 1,
    credentials,
    requestHandler: { connectionTimeout: 3000, requestTimeout: DEFAULT_RETRY_POLICY.attemptTimeoutMs, throwOnRequestTimeout: true },
    ...(endpoint === undefined ? {} : { endpoint }),
  });
}

export interface GrantedEntitlement {
  readonly name: string;
  readonly unit: string;
  readonly value: string | null;
}

export interface Checkout {
  readonly licenseArn: string;
  readonly consumptionToken: string;
  readonly checkoutType: CheckoutType;
  readonly entitlementsAllowed: readonly GrantedEntitlement[];
  readonly signedToken: string | undefined;
  readonly issuedAt: Date;
  readonly expiration: Date;
  readonly nodeId: string | undefined;
}

export interface CheckoutRequest {
  readonly productSku: string;
  readonly checkoutType: CheckoutType;
  readonly entitlements: readonly { readonly name: string; readonly unit: string; readonly value: string | undefined }[];
  /** One per logical checkout, kept across its retries: a retry after a lost answer must not take a second seat. */
  readonly clientToken?: string;
  readonly nodeId?: string;
}

export interface LicenseCallDeps extends RetryDeps {
  readonly client: LicenseClient;
  readonly onAttempt?: (report: AttemptReport) => void;
}

/** An ISO 8601 string of the answer as a Date, or a malformed-answer error naming the field. */
function instant(text: string | undefined, field: string, metadata: unknown): Date {
  const d = text === undefined ? undefined : new Date(text);
  if (d === undefined || !Number.isFinite(d.getTime())) throw malformedResponse(`the answer has no usable ${field} (${JSON.stringify(text ?? null)})`, metadata);
  return d;
}

function toCheckout(out: CheckoutLicenseResponse): Checkout {
  const meta = (out as { $metadata?: unknown }).$metadata;
  if (typeof out.LicenseArn !== 'string' || out.LicenseArn === '') throw malformedResponse('the answer has no LicenseArn', meta);
  if (typeof out.LicenseConsumptionToken !== 'string' || out.LicenseConsumptionToken === '') throw malformedResponse('the answer has no LicenseConsumptionToken', meta);
  const type = out.CheckoutType;
  if (type !== 'PROVISIONAL' && type !== 'PERPETUAL') throw malformedResponse(`the answer has the CheckoutType ${JSON.stringify(type ?? null)}`, meta);
  const granted = (out.EntitlementsAllowed ?? []).map((e) => ({ name: String(e.Name ?? ''), unit: String(e.Unit ?? ''), value: e.Value ?? null }));
  return {
    licenseArn: out.LicenseArn,
    consumptionToken: out.LicenseConsumptionToken,
    checkoutType: type,
    entitlementsAllowed: granted,
    signedToken: out.SignedToken,
    issuedAt: instant(out.IssuedAt, 'IssuedAt', meta),
    expiration: instant(out.Expiration, 'Expiration', meta),
    nodeId: out.NodeId,
  };
}

/** Adapts a generic attempt to the report the caller counts and shows. */
function reporting(onAttempt: LicenseCallDeps['onAttempt']) {
  return onAttempt === undefined
    ? undefined
    : (a: { attempt: number; failure: { code: AttemptReport['code']; awsError: string | undefined; detail: string } | undefined; durationMs: number; nextDelayMs: number | undefined }) =>
        onAttempt({ attempt: a.attempt, code: a.failure?.code ?? 'ENTITLED', awsError: a.failure?.awsError, detail: a.failure?.detail, durationMs: a.durationMs, nextDelayMs: a.nextDelayMs });
}

export function checkoutLicense(request: CheckoutRequest, deps: LicenseCallDeps): Promise<RetryResult<Checkout>> {
  const clientToken = request.clientToken ?? randomUUID();
  return retryWithBackoff(
    async (signal) =>
      toCheckout(
        await deps.client.send(
          new CheckoutLicenseCommand({
            ProductSKU: request.productSku,
            CheckoutType: request.checkoutType,
            KeyFingerprint: AWS_MARKETPLACE_KEY_FINGERPRINT,
            Entitlements: request.entitlements.map((e) => ({ Name: e.name, Unit: e.unit as LicenseUnit, ...(e.value === undefined ? {} : { Value: e.value }) })),
            ClientToken: clientToken,
            ...(request.nodeId === undefined ? {} : { NodeId: request.nodeId }),
          }),
          { abortSignal: signal },
        ),
      ),
    { ...deps, classifyAs: 'license-manager' },
    reporting(deps.onAttempt),
  );
}

export function extendConsumption(consumptionToken: string, deps: LicenseCallDeps): Promise<RetryResult<{ consumptionToken: string; expiration: Date }>> {
  return retryWithBackoff(
    async (signal) => {
      const out = await deps.client.send(new ExtendLicenseConsumptionCommand({ LicenseConsumptionToken: consumptionToken }), { abortSignal: signal });
      const meta = (out as { $metadata?: unknown }).$metadata;
      return { consumptionToken: out.LicenseConsumptionToken || consumptionToken, expiration: instant(out.Expiration, 'Expiration', meta) };
    },
    { ...deps, classifyAs: 'license-manager' },
    reporting(deps.onAttempt),
  );
}

export function checkInLicense(consumptionToken: string, deps: LicenseCallDeps): Promise<RetryResult<void>> {
  return retryWithBackoff(
    async (signal) => {
      await deps.client.send(new CheckInLicenseCommand({ LicenseConsumptionToken: consumptionToken }), { abortSignal: signal });
    },
    { ...deps, classifyAs: 'license-manager' },
    reporting(deps.onAttempt),
  );
}

export function getLicense(licenseArn: string, deps: LicenseCallDeps): Promise<RetryResult<License>> {
  return retryWithBackoff(
    async (signal) => {
      const out = await deps.client.send(new GetLicenseCommand({ LicenseArn: licenseArn }), { abortSignal: signal });
      if (out.License === undefined) throw malformedResponse('the answer has no License', (out as { $metadata?: unknown }).$metadata);
      return out.License;
    },
    { ...deps, classifyAs: 'license-manager' },
    reporting(deps.onAttempt),
  );
}
