/**
 * `entitlement-sidecar emulator ...`: the emulator as a long-running process for demos, compose files
 * and tests written in other languages. Its settings are src/emulator/settings.ts.
 */
import type { Writable } from 'node:stream';
import { pino } from 'pino';
import { startEmulator } from '../emulator/index.js';
import { MODES } from '../emulator/scenario.js';
import { parseEmulatorArgs } from '../emulator/settings.js';

export const EMULATOR_USAGE = `usage: entitlement-sidecar emulator --region REGION [flags]
  --listen HOST:PORT            address to serve on (default 127.0.0.1:8787; port 0 = any free port; warns if not loopback)   [EMULATOR_LISTEN]
  --region REGION               the region this endpoint serves; required         [EMULATOR_REGION, else AWS_REGION]
  --public-key-out FILE         write the token public key (PEM) here at start    [EMULATOR_PUBLIC_KEY_OUT]
  --scenario MODE               ${MODES.join(' | ')}   [EMULATOR_SCENARIO]
  --credentials AKID:SECRET:ACCOUNT,...   accepted SigV4 credentials (default: the built-in emulator key)  [EMULATOR_CREDENTIALS]
  --products CODE,...           product codes that exist (default: any)           [EMULATOR_PRODUCTS]
  --public-key-versions N,...   valid public key versions (default 1)             [EMULATOR_PUBLIC_KEY_VERSIONS]
  --rate-limit N                RegisterUsage calls per second per account, burst N; 0 = off (default 5)  [EMULATOR_RATE_LIMIT]
  --key-bits N                  RSA key size, 2048-8192 (default 3072)            [EMULATOR_KEY_BITS]
  --dimensions NAME,...         MeterUsage/BatchMeterUsage dimensions that exist (default: any)  [EMULATOR_DIMENSIONS]
  --look-back-hours N           how old a MeterUsage Timestamp may be (default 6)  [EMULATOR_LOOK_BACK_HOURS]
  --batch-look-back-hours N     how old a BatchMeterUsage Timestamp may be (default 24)  [EMULATOR_BATCH_LOOK_BACK_HOURS]
  --allowed-hosts NAME,...      Host header names it answers besides loopback and localhost, e.g. a compose service name  [EMULATOR_ALLOWED_HOSTS]
  --licenses FILE               License Manager licenses at start: a JSON list of license seeds  [EMULATOR_LICENSES]
  --consumption-ttl SECONDS     how long a PROVISIONAL checkout holds its units (default 3600)  [EMULATOR_CONSUMPTION_TTL]
  --access-token-ttl SECONDS    how long GetAccessToken's access tokens live (default 3600)  [EMULATOR_ACCESS_TOKEN_TTL]
  --sts-credentials-ttl SECONDS how long AssumeRoleWithWebIdentity's credentials live without DurationSeconds (default 3600)  [EMULATOR_STS_CREDENTIALS_TTL]`;

/** Where the command writes and what stops it; the defaults are the process's own. */
export interface EmulatorCommandIo {
  stdout?: Writable;
  stderr?: Writable;
  /** Stops the emulator like SIGTERM does (for in-process callers and tests). */
  signal?: AbortSignal;
}

export async function runEmulatorCommand(argv: string[], env: NodeJS.ProcessEnv, io: EmulatorCommandIo = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  if (argv.includes('--help') || argv.includes('-h')) {
    stdout.write(`${EMULATOR_USAGE}\n`);
    return 0;
  }
  const parsed = parseEmulatorArgs(argv, env);
  if (!parsed.ok) {
    for (const p of parsed.problems) stderr.write(`entitlement-sidecar emulator: ${p}\n`);
    stderr.write(`${EMULATOR_USAGE}\n`);
    return 2;
  }
  const logger = pino({ base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, stdout);
  const { options } = parsed;
  let emulator;
  try {
    emulator = await startEmulator({ ...options, logger });
  } catch (err) {
    stderr.write(`entitlement-sidecar emulator: cannot start: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  logger.info({ url: emulator.url, region: options.region, publicKeyFile: options.publicKeyOut ?? null }, 'emulator listening');

  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      io.signal?.removeEventListener('abort', stop);
      resolve();
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    if (io.signal?.aborted) stop();
    io.signal?.addEventListener('abort', stop, { once: true });
  });
  await emulator.close();
  logger.info('emulator stopped');
  return 0;
}
