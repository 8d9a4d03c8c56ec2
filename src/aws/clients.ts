import { MarketplaceMeteringClient } from '@aws-sdk/client-marketplace-metering';
import type { CredentialProvider } from './credentials.js';
import type { LicenseClient } from './license-manager.js';
import { DEFAULT_RETRY_POLICY } from './retry.js';

/**
 * Construction of the AWS clients the sidecar uses, all alike: the SDK's own retries off (our retry
 * loop owns the quota), a connection and a request timeout that really abort, the region found at run
 * time, the endpoint override the SDK itself reads, and one credential provider shared by every client.
 */


/** What the sidecar needs of a Metering client; tests and the real SDK client both provide it. */
export type MeteringClient = Pick<MarketplaceMeteringClient, 'send'>;

/** Where the endpoint override comes from, as the SDK itself reads it (service id "Marketplace Metering"). */
export function meteringEndpointOverride(env: NodeJS.ProcessEnv): string | undefined {
  return env.AWS_ENDPOINT_URL_MARKETPLACE_METERING || env.AWS_ENDPOINT_URL || undefined;
}

/**
 * An endpoint override as it may be logged: scheme, host and path only. User info and a query could
 * carry a credential; a value that is no URL is not echoed at all.
 */
export function describeEndpoint(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`;
  } catch {
    return '(not a URL)';
  }
}

export function createMeteringClient(region: string, env: NodeJS.ProcessEnv, credentials: CredentialProvider): MarketplaceMeteringClient {
  const endpoint = meteringEndpointOverride(env);
  return new MarketplaceMeteringClient({
    region,
    // Our own loop retries with a deadline; SDK retries would multiply requests against the quota.
    maxAttempts: 1,
    credentials,
    // Without throwOnRequestTimeout the SDK only warns when requestTimeout passes.
    requestHandler: { connectionTimeout: 3000, requestTimeout: DEFAULT_RETRY_POLICY.attemptTimeoutMs, throwOnRequestTimeout: true },
    ...(endpoint === undefined ? {} : { endpoint }),
  });
}

/**
 * How the sidecar gets its AWS clients: the real ones by default; tests pass clients pointed at the
 * emulator. `credentials` is the one provider every client signs with, so the credentials step can
 * resolve it once before the first call without reaching into a client.
 */
export interface AwsClients {
  readonly credentials: CredentialProvider;
  metering(region: string): MeteringClient;
  licenseManager(region: string): LicenseClient;
}
