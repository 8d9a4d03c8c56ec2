import { join } from 'node:path';
import { afterEach } from 'vitest';
import type { AwsClients, MeteringClient } from '../../src/aws/clients.js';
import type { LicenseClient } from '../../src/aws/license-manager.js';
import { loadSidecarConfig, type SidecarConfig } from '../../src/config/settings.js';
import type { Emulator } from '../../src/emulator/index.js';
import type { Observer, Snapshot } from '../../src/entitlement/status.js';
import type { Now } from '../../src/shared/time.js';
import { startSidecar, type Sidecar } from '../../src/sidecar/run.js';
import type { Tuning } from '../../src/sidecar/steps.js';
import { CREDENTIAL, meteringClient, REGION } from './emulator.js';
import { licenseClient } from './license-manager.js';
import { captureLogs } from './logs.js';

export { licenseClient };
import { tempDir } from './tmp.js';

/**
 * THE in-process sidecar of the tests: the real runSidecar with the real SDK over real HTTP against the
 * emulator, a real probe server on an ephemeral port, real files in a temporary directory, and real
 * pino log lines captured in memory. Stopped after the test.
 */

/** Backoffs short enough for tests; the attempt timeout is the sidecar's own. */
export const QUICK = { baseDelayMs: 20, maxDelayMs: 100, jitter: 'full' } as const;

export interface TestSidecarOptions {
  /** Sidecar settings (variable names) over the defaults: the emulator's key, a file in `dir`, an ephemeral port, a 30 s deadline. */
  readonly settings?: Readonly<Record<string, string | undefined>>;
  /** The entitlement volume; default a fresh temporary directory. */
  readonly dir?: string;
  /** The environment the AWS settings are read from; default AWS_REGION only. */
  readonly env?: Readonly<Record<string, string>>;
  /** The Metering client; default the real SDK client pointed at the emulator. */
  readonly client?: () => MeteringClient;
  /** The License Manager client for a region; default the real SDK client pointed at the emulator. */
  readonly licenseClient?: (region: string) => LicenseClient;
  readonly now?: Now;
  readonly tuning?: Partial<Tuning>;
  readonly fileRoot?: string;
  readonly observers?: readonly Observer[];
  readonly logLevel?: string;
}

export interface TestSidecar {
  readonly sidecar: Sidecar;
  readonly config: SidecarConfig;
  readonly logs: ReturnType<typeof captureLogs>;
  readonly dir: string;
  readonly file: string;
  /** The first outcome (or the last answer, if the sidecar stopped before one). */
  readonly snapshot: Snapshot;
  healthz(): Promise<{ status: number; body: Snapshot }>;
  metrics(): Promise<string>;
  /** Aborts the run (SIGTERM's path) and waits for it to stop. */
  stop(): Promise<Snapshot>;
}

/** The settings the harness starts a sidecar with, before `overrides`. */
export function testSettings(emu: Pick<Emulator, 'publicKeyPem'>, dir: string, overrides: Readonly<Record<string, string | undefined>> = {}) {
  // A contract product (License Manager) has no product code or token key.
  const product = overrides.ENTITLEMENT_SOURCE === 'license-manager' ? {} : { MARKETPLACE_PRODUCT_CODE: 'prod-abc123', MARKETPLACE_PUBLIC_KEY: emu.publicKeyPem };
  return {
    ...product,
    ENTITLEMENT_FILE: join(dir, 'entitlement.json'),
    ENTITLEMENT_LISTEN: '127.0.0.1:0',
    ENTITLEMENT_REGISTER_DEADLINE: '30s',
    ...overrides,
  };
}

/** AWS clients for the in-process sidecar: static emulator credentials and the given clients. */
export function testAwsClients(client: () => MeteringClient, licenseClient: (region: string) => LicenseClient): AwsClients {
  return {
    credentials: async () => ({ accessKeyId: CREDENTIAL.accessKeyId, secretAccessKey: CREDENTIAL.secretAccessKey }),
    metering: () => client(),
    licenseManager: (region) => licenseClient(region),
  };
}

/** Starts the sidecar in-process against `emu` and waits for its first outcome. */
export async function startTestSidecar(emu: Emulator, options: TestSidecarOptions = {}): Promise<TestSidecar> {
  const dir = options.dir ?? tempDir();
  const config = loadSidecarConfig([], testSettings(emu, dir, options.settings));
  const logs = captureLogs(options.logLevel);
  const controller = new AbortController();
  const sidecar = await startSidecar({
    config,
    env: { AWS_REGION: REGION, ...options.env },
    logger: logs.logger,
    signal: controller.signal,
    version: '0.0.0-test',
    tuning: { retry: { throttled: QUICK, transient: QUICK, attemptTimeoutMs: 10_000 }, ...options.tuning },
    aws: testAwsClients(options.client ?? (() => meteringClient(emu)), options.licenseClient ?? ((region) => licenseClient(emu, { region }))),
    ...(options.now === undefined ? {} : { now: options.now }),
    ...(options.fileRoot === undefined ? {} : { fileRoot: options.fileRoot }),
    ...(options.observers === undefined ? {} : { observers: options.observers }),
  });
  let stopping: Promise<Snapshot> | undefined;
  const stop = () => {
    controller.abort();
    return (stopping ??= sidecar.stopped);
  };
  afterEach(async () => {
    await stop();
  });
  const snapshot = (await Promise.race([sidecar.decided, sidecar.stopped])) ?? (await sidecar.stopped);
  const base = `http://127.0.0.1:${sidecar.address.port}`;
  return {
    sidecar,
    config,
    logs,
    dir,
    file: config.entitlementFile,
    snapshot,
    async healthz() {
      const res = await fetch(`${base}/healthz`);
      return { status: res.status, body: (await res.json()) as Snapshot };
    },
    metrics: async () => (await fetch(`${base}/metrics`)).text(),
    stop,
  };
}
