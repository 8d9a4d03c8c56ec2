import { afterEach } from 'vitest';
import { meteringClient as clientOnClock } from './emulator-requests.js';
import { DEFAULT_EMULATOR_CREDENTIALS, startEmulator, type Emulator, type LicenseSeed, type Scenario } from '../../src/emulator/index.js';

export const REGION = 'us-east-1';
export const CREDENTIAL = DEFAULT_EMULATOR_CREDENTIALS[0] as (typeof DEFAULT_EMULATOR_CREDENTIALS)[number];

/**
 * An emulator on an ephemeral loopback port, closed after the current test. 2048-bit keys keep tests quick.
 * `now` is the emulator's clock. The default is the machine's clock on purpose: these emulators serve
 * a sidecar (in-process or a real process) that signs with the machine's clock, and RegisterUsage has
 * no calendar rule. A test of anything that depends on the date passes its own clock here and to
 * meteringClient, and to the code under test.
 */
export async function emulator(
  scenario: Partial<Scenario> = {},
  options: { now?: () => Date; region?: string; licenses?: LicenseSeed[]; consumptionTtlSeconds?: number } = {},
): Promise<Emulator> {
  const emu = await startEmulator({
    region: options.region ?? REGION,
    keyBits: 2048,
    licenseManager: { signingKeyBits: 2048, ...(options.consumptionTtlSeconds === undefined ? {} : { consumptionTtlSeconds: options.consumptionTtlSeconds }) },
    ...(options.licenses === undefined ? {} : { licenses: options.licenses }),
    scenario,
    now: options.now ?? (() => new Date()),
  });
  afterEach(() => emu.close());
  return emu;
}

/**
 * The real SDK client, over real HTTP, pointed at the emulator (emulator-requests.ts builds it); `now`
 * puts its signing on the emulator's clock, else it signs on the machine's, as the emulator here runs.
 */
export function meteringClient(
  emu: Pick<Emulator, 'url'>,
  options: { accessKeyId?: string; secretAccessKey?: string; sessionToken?: string; region?: string; now?: () => Date } = {},
) {
  const { now, ...rest } = options;
  return clientOnClock({ url: emu.url, clock: { now: now ?? (() => new Date()) } }, rest);
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
