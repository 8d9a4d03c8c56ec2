import { MarketplaceMeteringClient } from '@aws-sdk/client-marketplace-metering';
import { afterEach } from 'vitest';
import { DEFAULT_EMULATOR_CREDENTIALS, startEmulator, type Emulator, type Scenario } from '../../src/emulator/index.js';

export const REGION = 'us-east-1';
export const CREDENTIAL = DEFAULT_EMULATOR_CREDENTIALS[0] as (typeof DEFAULT_EMULATOR_CREDENTIALS)[number];

/** An emulator on an ephemeral loopback port, closed after the current test. 2048-bit keys keep tests quick. */
export async function emulator(scenario: Partial<Scenario> = {}): Promise<Emulator> {
  const emu = await startEmulator({ region: REGION, keyBits: 2048, scenario });
  afterEach(() => emu.close());
  return emu;
}

/** The real SDK client, over real HTTP, pointed at the emulator. */
export function meteringClient(emu: Emulator, options: { accessKeyId?: string; secretAccessKey?: string; sessionToken?: string; region?: string } = {}) {
  return new MarketplaceMeteringClient({
    endpoint: emu.url,
    region: options.region ?? REGION,
    maxAttempts: 1,
    credentials: {
      accessKeyId: options.accessKeyId ?? CREDENTIAL.accessKeyId,
      secretAccessKey: options.secretAccessKey ?? CREDENTIAL.secretAccessKey,
      ...(options.sessionToken === undefined ? {} : { sessionToken: options.sessionToken }),
    },
  });
}

/** Environment for a sidecar process that talks to the emulator, isolated from this machine's AWS files. */
export function sidecarAwsEnv(emu: Emulator, home: string): NodeJS.ProcessEnv {
  return {
    AWS_REGION: REGION,
    AWS_ENDPOINT_URL_MARKETPLACE_METERING: emu.url,
    AWS_ACCESS_KEY_ID: CREDENTIAL.accessKeyId,
    AWS_SECRET_ACCESS_KEY: CREDENTIAL.secretAccessKey,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    HOME: home,
  };
}
