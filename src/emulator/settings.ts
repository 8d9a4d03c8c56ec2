/**
 * The emulator command's settings: one table (flag, variable, parser), read with the project's one
 * flag reader (config/flags.ts) like every other command. Flags win over environment variables; every
 * problem is reported at once, naming the flag (or variable) and what it accepts.
 */
import { REGION_PATTERN } from '../aws/region.js';
import { readSettings, SettingProblem, type SettingSpec } from '../config/flags.js';
import { parseList, parseListen } from '../config/parse.js';
import { PRODUCT_CODE_PATTERN } from '../config/settings.js';
import { fileErrorCode, FileRefusedError, readRegularFileSync } from '../shared/regular-file.js';
import { parseHost } from './host-check.js';
import { DEFAULT_EMULATOR_CREDENTIALS, MAX_CONSUMPTION_TTL_SECONDS, MAX_STS_CREDENTIALS_TTL_SECONDS } from './index.js';
import { licenseSeedProblems, type LicenseSeed } from './license-manager/seeds.js';
import type { EmulatorCredential, EmulatorOptions } from './index.js';
import { MODES } from './scenario.js';
import type { Mode, Scenario } from './scenario.js';

const problem = (message: string): never => {
  throw new SettingProblem(message);
};

function listen(text: string, name: string) {
  return parseListen(text) ?? problem(`${name} must be HOST:PORT (e.g. 127.0.0.1:8787, [::1]:8787, port 0 = any free port); got "${text}"`);
}

function region(text: string, name: string): string {
  return REGION_PATTERN.test(text) ? text : problem(`${name} must be an AWS region name such as us-east-1; got "${text}"`);
}

function mode(text: string, name: string): Mode {
  return (MODES as readonly string[]).includes(text) ? (text as Mode) : problem(`${name} must be one of: ${MODES.join(', ')}; got "${text}"`);
}

function credentials(text: string, name: string): EmulatorCredential[] {
  const entries = parseList(text);
  if (entries.length === 0) problem(`${name} must list at least one ACCESS_KEY_ID:SECRET_ACCESS_KEY:ACCOUNT_ID`);
  return entries.map((entry, i) => {
    const [accessKeyId = '', secretAccessKey = '', accountId = '', ...extra] = entry.split(':');
    if (!/^[A-Za-z0-9]{1,128}$/.test(accessKeyId) || secretAccessKey === '' || !/^\d{12}$/.test(accountId) || extra.length > 0) {
      // The entry is not echoed: it holds a secret.
      problem(`${name} must be a comma-separated list of ACCESS_KEY_ID:SECRET_ACCESS_KEY:ACCOUNT_ID (12-digit account); entry ${i + 1} is not`);
    }
    return { accessKeyId, secretAccessKey, accountId };
  });
}

function products(text: string, name: string): string[] {
  const codes = parseList(text);
  const bad = codes.filter((code) => !PRODUCT_CODE_PATTERN.test(code));
  if (bad.length > 0) problem(`${name}: ${bad.map((c) => `"${c}"`).join(', ')} is not a product code (1-255 of A-Z a-z 0-9 - / = : _ . @)`);
  return codes;
}

function keyVersions(text: string, name: string): number[] {
  const versions = parseList(text).map(Number);
  if (versions.length === 0 || versions.some((v) => !Number.isSafeInteger(v) || v < 1)) problem(`${name} must be a comma-separated list of integers >= 1; got "${text}"`);
  return versions;
}

function rateLimit(text: string, name: string): number {
  const rate = Number(text);
  return Number.isSafeInteger(rate) && rate >= 0 ? rate : problem(`${name} must be an integer >= 0 (calls per second per account; 0 = off); got "${text}"`);
}

function keyBits(text: string, name: string): number {
  const bits = Number(text);
  return Number.isSafeInteger(bits) && bits >= 2048 && bits <= 8192 ? bits : problem(`${name} must be an integer from 2048 to 8192; got "${text}"`);
}

function dimensions(text: string, name: string): string[] {
  const list = parseList(text);
  if (list.length === 0 || list.some((d) => d.length > 255)) problem(`${name} must be a comma-separated list of dimension names (1-255 characters each); got "${text}"`);
  return list;
}

function hours(text: string, name: string): number {
  const n = Number(text);
  return Number.isFinite(n) && n > 0 ? n : problem(`${name} must be a number of hours > 0; got "${text}"`);
}

function allowedHosts(text: string, name: string): string[] {
  const hosts = parseList(text);
  if (hosts.length === 0 || hosts.some((h) => parseHost(h) === undefined)) {
    problem(`${name} must be a comma-separated list of host names or IP addresses (e.g. emulator,ci-runner.internal); got "${text}"`);
  }
  return hosts;
}

/** Far above any test's licenses; the file is read whole into memory. */
export const MAX_LICENSES_FILE_BYTES = 1024 * 1024;

/** A JSON file holding a list of license seeds: read as a regular file of bounded size (a ConfigMap mount's link is followed). */
function licensesFile(path: string, name: string): LicenseSeed[] {
  let text: string;
  try {
    text = readRegularFileSync(path, MAX_LICENSES_FILE_BYTES, { followSymlinks: true }).toString('utf8');
  } catch (err) {
    // A refusal's message names the path already ("/x is a FIFO, not a regular file").
    return problem(`${name}: ${err instanceof FileRefusedError ? err.message : `${path} cannot be read (${fileErrorCode(err)})`}`);
  }
  let seeds: unknown;
  try {
    seeds = JSON.parse(text);
  } catch {
    return problem(`${name}: ${path} is not JSON; it must hold a list of license seeds`);
  }
  if (!Array.isArray(seeds)) return problem(`${name}: ${path} must hold a JSON list of license seeds`);
  const problems = seeds.flatMap((seed, i) => licenseSeedProblems(seed, `licenses[${i}].`));
  if (problems.length > 0) problem(`${name}: ${path}: ${problems.join('; ')}`);
  return seeds as LicenseSeed[];
}

function seconds(max: number) {
  return (text: string, name: string): number => {
    const n = Number(text);
    return /^\d+$/.test(text) && Number.isSafeInteger(n) && n >= 1 && n <= max ? n : problem(`${name} must be a whole number of seconds from 1 to ${max}; got "${text}"`);
  };
}

const row = <T>(flag: string, env: string | readonly string[], parse: (text: string, name: string) => T, defaultText?: string): SettingSpec<T> => ({
  flag,
  env: typeof env === 'string' ? [env] : env,
  parse,
  ...(defaultText === undefined ? {} : { default: defaultText }),
});

/** Every setting of the emulator command, in the README's order. */
export const EMULATOR_SETTINGS = {
  listen: row('listen', 'EMULATOR_LISTEN', listen, '127.0.0.1:8787'),
  region: row('region', ['EMULATOR_REGION', 'AWS_REGION'], region),
  publicKeyOut: row('public-key-out', 'EMULATOR_PUBLIC_KEY_OUT', (t) => t),
  scenario: row('scenario', 'EMULATOR_SCENARIO', mode),
  credentials: row('credentials', 'EMULATOR_CREDENTIALS', credentials),
  products: row('products', 'EMULATOR_PRODUCTS', products),
  publicKeyVersions: row('public-key-versions', 'EMULATOR_PUBLIC_KEY_VERSIONS', keyVersions),
  rateLimit: row('rate-limit', 'EMULATOR_RATE_LIMIT', rateLimit),
  keyBits: row('key-bits', 'EMULATOR_KEY_BITS', keyBits, '3072'),
  dimensions: row('dimensions', 'EMULATOR_DIMENSIONS', dimensions),
  lookBackHours: row('look-back-hours', 'EMULATOR_LOOK_BACK_HOURS', hours),
  batchLookBackHours: row('batch-look-back-hours', 'EMULATOR_BATCH_LOOK_BACK_HOURS', hours),
  allowedHosts: row('allowed-hosts', 'EMULATOR_ALLOWED_HOSTS', allowedHosts),
  licenses: row('licenses', 'EMULATOR_LICENSES', licensesFile),
  consumptionTtl: row('consumption-ttl', 'EMULATOR_CONSUMPTION_TTL', seconds(MAX_CONSUMPTION_TTL_SECONDS)),
  accessTokenTtl: row('access-token-ttl', 'EMULATOR_ACCESS_TOKEN_TTL', seconds(86_400)),
  stsCredentialsTtl: row('sts-credentials-ttl', 'EMULATOR_STS_CREDENTIALS_TTL', seconds(MAX_STS_CREDENTIALS_TTL_SECONDS)),
} as const;

/** flag -> the environment variable it falls back to, as the README lists them. */
export const EMULATOR_FLAGS = Object.fromEntries(Object.values(EMULATOR_SETTINGS).map((s) => [s.flag, s.env[0] as string])) as Readonly<Record<string, string>>;

/** Everything startEmulator needs except the injected logger and clock. */
export type EmulatorCommandOptions = Required<Pick<EmulatorOptions, 'host' | 'port' | 'region' | 'credentials' | 'keyBits'>> &
  Pick<EmulatorOptions, 'publicKeyOut' | 'productCodes' | 'publicKeyVersions' | 'dimensions' | 'meterUsageLookBackHours' | 'batchMeterUsageLookBackHours' | 'allowedHosts' | 'licenses' | 'licenseManager' | 'sts'> & {
    scenario: Partial<Scenario>;
  };

export type ParsedEmulatorArgs = { ok: true; options: EmulatorCommandOptions } | { ok: false; problems: string[] };

/** Pure: argv + environment -> options or the complete list of problems. */
export function parseEmulatorArgs(argv: readonly string[], env: NodeJS.ProcessEnv): ParsedEmulatorArgs {
  const { values: v, problems, given } = readSettings(EMULATOR_SETTINGS, argv, env, { command: 'the emulator' });
  if (!given.region) problems.push('--region (or EMULATOR_REGION, or AWS_REGION) is required: the region this endpoint serves, e.g. us-east-1; there is no default');
  if (problems.length > 0 || v.listen === undefined || v.region === undefined) return { ok: false, problems };
  const scenario: Partial<Scenario> = {};
  if (v.scenario !== undefined) scenario.mode = v.scenario;
  if (v.rateLimit !== undefined) scenario.rateLimit = v.rateLimit === 0 ? null : { perSecond: v.rateLimit, burst: v.rateLimit };
  const options: EmulatorCommandOptions = {
    host: v.listen.host,
    port: v.listen.port,
    region: v.region,
    credentials: v.credentials ?? DEFAULT_EMULATOR_CREDENTIALS.map((c) => ({ ...c })),
    keyBits: v.keyBits ?? 3072,
    scenario,
  };
  if (v.publicKeyOut !== undefined) options.publicKeyOut = v.publicKeyOut;
  if (v.products !== undefined) options.productCodes = v.products;
  if (v.publicKeyVersions !== undefined) options.publicKeyVersions = v.publicKeyVersions;
  if (v.dimensions !== undefined) options.dimensions = v.dimensions;
  if (v.lookBackHours !== undefined) options.meterUsageLookBackHours = v.lookBackHours;
  if (v.batchLookBackHours !== undefined) options.batchMeterUsageLookBackHours = v.batchLookBackHours;
  if (v.allowedHosts !== undefined) options.allowedHosts = v.allowedHosts;
  if (v.licenses !== undefined) options.licenses = v.licenses;
  if (v.consumptionTtl !== undefined || v.accessTokenTtl !== undefined) {
    options.licenseManager = {
      ...(v.consumptionTtl === undefined ? {} : { consumptionTtlSeconds: v.consumptionTtl }),
      ...(v.accessTokenTtl === undefined ? {} : { accessTokenTtlSeconds: v.accessTokenTtl }),
    };
  }
  if (v.stsCredentialsTtl !== undefined) options.sts = { credentialsTtlSeconds: v.stsCredentialsTtl };
  return { ok: true, options };
}
