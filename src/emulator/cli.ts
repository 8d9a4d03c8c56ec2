/**
 * `entitlement-sidecar emulator ...`: the emulator as a long-running process for demos, compose files
 * and tests written in other languages. Flags win over environment variables; every problem is
 * reported at once, naming the flag (or variable) and what it accepts.
 */
import type { Writable } from 'node:stream';
import { pino } from 'pino';
import { parseListen } from '../config/parse.js';
import { PRODUCT_CODE_PATTERN } from '../config/settings.js';
import { REGION_PATTERN } from '../aws/region.js';
import { parseHost } from './host-check.js';
import { DEFAULT_EMULATOR_CREDENTIALS, startEmulator } from './index.js';
import type { EmulatorCredential, EmulatorOptions } from './index.js';
import { MODES } from './scenario.js';
import type { Mode, Scenario } from './scenario.js';

/** flag -> environment variable it falls back to (empty: flag only). */
export const EMULATOR_FLAGS = {
  listen: 'EMULATOR_LISTEN',
  region: 'EMULATOR_REGION',
  'public-key-out': 'EMULATOR_PUBLIC_KEY_OUT',
  scenario: 'EMULATOR_SCENARIO',
  credentials: 'EMULATOR_CREDENTIALS',
  products: 'EMULATOR_PRODUCTS',
  'public-key-versions': 'EMULATOR_PUBLIC_KEY_VERSIONS',
  'rate-limit': 'EMULATOR_RATE_LIMIT',
  'key-bits': 'EMULATOR_KEY_BITS',
  dimensions: 'EMULATOR_DIMENSIONS',
  'look-back-hours': 'EMULATOR_LOOK_BACK_HOURS',
  'batch-look-back-hours': 'EMULATOR_BATCH_LOOK_BACK_HOURS',
  'allowed-hosts': 'EMULATOR_ALLOWED_HOSTS',
} as const;
type Flag = keyof typeof EMULATOR_FLAGS;

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
  --allowed-hosts NAME,...      Host header names it answers besides loopback and localhost, e.g. a compose service name  [EMULATOR_ALLOWED_HOSTS]`;

/** Everything startEmulator needs except the injected logger and clock. */
export type EmulatorCommandOptions = Required<Pick<EmulatorOptions, 'host' | 'port' | 'region' | 'credentials' | 'keyBits'>> &
  Pick<EmulatorOptions, 'publicKeyOut' | 'productCodes' | 'publicKeyVersions' | 'dimensions' | 'meterUsageLookBackHours' | 'batchMeterUsageLookBackHours' | 'allowedHosts'> & {
    scenario: Partial<Scenario>;
  };

export type ParsedEmulatorArgs = { ok: true; options: EmulatorCommandOptions } | { ok: false; problems: string[] };

function collectFlags(argv: readonly string[], problems: string[]): Map<Flag, string> {
  const flags = new Map<Flag, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (!arg.startsWith('--')) {
      problems.push(`unexpected argument "${arg}"; the emulator takes flags only`);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    if (!Object.hasOwn(EMULATOR_FLAGS, name)) {
      problems.push(`--${name} is not a flag of the emulator; flags: ${Object.keys(EMULATOR_FLAGS).map((f) => `--${f}`).join(', ')}`);
      if (eq === -1 && argv[i + 1] !== undefined && !argv[i + 1]?.startsWith('--')) i++;
      continue;
    }
    const value = eq === -1 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined || (eq === -1 && value.startsWith('--'))) {
      problems.push(`--${name} needs a value`);
      if (value !== undefined) i--;
      continue;
    }
    flags.set(name as Flag, value);
  }
  return flags;
}

const list = (s: string): string[] => s.split(',').map((x) => x.trim()).filter((x) => x !== '');

/** Pure: argv + environment -> options or the complete list of problems. */
export function parseEmulatorArgs(argv: readonly string[], env: NodeJS.ProcessEnv): ParsedEmulatorArgs {
  const problems: string[] = [];
  const flags = collectFlags(argv, problems);
  /** The value and the name to blame for it: the flag if given, else its variable. */
  const get = (flag: Flag, extraEnv?: string): [string | undefined, string] => {
    const fromFlag = flags.get(flag);
    if (fromFlag !== undefined) return [fromFlag, `--${flag}`];
    const envName = [EMULATOR_FLAGS[flag], extraEnv].find((n) => n !== undefined && env[n] !== undefined && env[n] !== '');
    return envName === undefined ? [undefined, `--${flag}`] : [env[envName], envName];
  };

  const [listenText = '127.0.0.1:8787', listenName] = get('listen');
  const listen = parseListen(listenText);
  if (listen === undefined) problems.push(`${listenName} must be HOST:PORT (e.g. 127.0.0.1:8787, [::1]:8787, port 0 = any free port); got "${listenText}"`);

  const [region, regionName] = get('region', 'AWS_REGION');
  if (region === undefined) problems.push('--region (or EMULATOR_REGION, or AWS_REGION) is required: the region this endpoint serves, e.g. us-east-1; there is no default');
  else if (!REGION_PATTERN.test(region)) problems.push(`${regionName} must be an AWS region name such as us-east-1; got "${region}"`);

  const [mode, modeName] = get('scenario');
  if (mode !== undefined && !(MODES as readonly string[]).includes(mode)) problems.push(`${modeName} must be one of: ${MODES.join(', ')}; got "${mode}"`);

  const [credText, credName] = get('credentials');
  const credentials: EmulatorCredential[] = [];
  for (const entry of credText === undefined ? [] : list(credText)) {
    const [accessKeyId = '', secretAccessKey = '', accountId = '', ...extra] = entry.split(':');
    if (!/^[A-Za-z0-9]{1,128}$/.test(accessKeyId) || secretAccessKey === '' || !/^\d{12}$/.test(accountId) || extra.length > 0) {
      // The entry is not echoed: it holds a secret.
      problems.push(`${credName} must be a comma-separated list of ACCESS_KEY_ID:SECRET_ACCESS_KEY:ACCOUNT_ID (12-digit account); entry ${credentials.length + 1} is not`);
    } else credentials.push({ accessKeyId, secretAccessKey, accountId });
  }
  if (credText !== undefined && list(credText).length === 0) problems.push(`${credName} must list at least one ACCESS_KEY_ID:SECRET_ACCESS_KEY:ACCOUNT_ID`);

  const [productsText, productsName] = get('products');
  const productCodes = productsText === undefined ? undefined : list(productsText);
  for (const code of productCodes ?? []) {
    if (!PRODUCT_CODE_PATTERN.test(code)) problems.push(`${productsName}: "${code}" is not a product code (1-255 of A-Z a-z 0-9 - / = : _ . @)`);
  }

  const [versionsText, versionsName] = get('public-key-versions');
  const versions = versionsText === undefined ? undefined : list(versionsText).map(Number);
  if (versions !== undefined && (versions.length === 0 || versions.some((v) => !Number.isSafeInteger(v) || v < 1))) {
    problems.push(`${versionsName} must be a comma-separated list of integers >= 1; got "${versionsText}"`);
  }

  const [rateText, rateName] = get('rate-limit');
  const rate = rateText === undefined ? undefined : Number(rateText);
  if (rate !== undefined && !(Number.isSafeInteger(rate) && rate >= 0)) problems.push(`${rateName} must be an integer >= 0 (calls per second per account; 0 = off); got "${rateText}"`);

  const [bitsText, bitsName] = get('key-bits');
  const keyBits = bitsText === undefined ? 3072 : Number(bitsText);
  if (!(Number.isSafeInteger(keyBits) && keyBits >= 2048 && keyBits <= 8192)) problems.push(`${bitsName} must be an integer from 2048 to 8192; got "${bitsText}"`);

  const [dimensionsText, dimensionsName] = get('dimensions');
  const dimensions = dimensionsText === undefined ? undefined : list(dimensionsText);
  if (dimensions !== undefined && (dimensions.length === 0 || dimensions.some((d) => d.length > 255))) {
    problems.push(`${dimensionsName} must be a comma-separated list of dimension names (1-255 characters each); got "${dimensionsText}"`);
  }

  const hours = (flag: 'look-back-hours' | 'batch-look-back-hours'): number | undefined => {
    const [text, name] = get(flag);
    const n = text === undefined ? undefined : Number(text);
    if (text !== undefined && !(n !== undefined && Number.isFinite(n) && n > 0)) problems.push(`${name} must be a number of hours > 0; got "${text}"`);
    return n;
  };
  const lookBack = hours('look-back-hours');
  const batchLookBack = hours('batch-look-back-hours');

  const [hostsText, hostsName] = get('allowed-hosts');
  const allowedHosts = hostsText === undefined ? undefined : list(hostsText);
  const badHosts = (allowedHosts ?? []).filter((h) => parseHost(h) === undefined);
  if (allowedHosts !== undefined && (allowedHosts.length === 0 || badHosts.length > 0)) {
    problems.push(`${hostsName} must be a comma-separated list of host names or IP addresses (e.g. emulator,ci-runner.internal); got "${hostsText}"`);
  }

  if (problems.length > 0 || listen === undefined || region === undefined) return { ok: false, problems };
  const scenario: Partial<Scenario> = {};
  if (mode !== undefined) scenario.mode = mode as Mode;
  if (rate !== undefined) scenario.rateLimit = rate === 0 ? null : { perSecond: rate, burst: rate };
  const options: EmulatorCommandOptions = {
    host: listen.host,
    port: listen.port,
    region,
    credentials: credentials.length > 0 ? credentials : DEFAULT_EMULATOR_CREDENTIALS.map((c) => ({ ...c })),
    keyBits,
    scenario,
  };
  const [publicKeyOut] = get('public-key-out');
  if (publicKeyOut !== undefined) options.publicKeyOut = publicKeyOut;
  if (productCodes !== undefined) options.productCodes = productCodes;
  if (versions !== undefined) options.publicKeyVersions = versions;
  if (dimensions !== undefined) options.dimensions = dimensions;
  if (lookBack !== undefined) options.meterUsageLookBackHours = lookBack;
  if (batchLookBack !== undefined) options.batchMeterUsageLookBackHours = batchLookBack;
  if (allowedHosts !== undefined) options.allowedHosts = allowedHosts;
  return { ok: true, options };
}

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
