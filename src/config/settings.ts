import { randomBytes } from 'node:crypto';
import { closeSync, openSync, statSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseProductPublicKey, PublicKeyError, type ProductPublicKey } from '../entitlement/public-key.js';
import { loopbackLiteral } from '../shared/addresses.js';
import type { ListenAddress } from '../shared/http.js';
import { FileRefusedError, fileErrorCode, readRegularFileSync } from '../shared/regular-file.js';
import { readSettings, SettingProblem, type SettingSpec } from './flags.js';
import { duration, integer, listenAddress, oneOf, parseList, text } from './parse.js';

/**
 * THE settings of the sidecar: one table (variable, flag, default, typed parser), read once by
 * `loadSidecarConfig` for `run`, and by the other commands for the rows they share (`verify`: the
 * product and key rows; `check`: the listen row). The README's configuration table is checked against
 * SETTINGS, both ways.
 */

/** AWS's model for ProductCode: up to 255 of these characters (we also require at least one). */
export const PRODUCT_CODE_PATTERN = /^[-a-zA-Z0-9/=:_.@]{1,255}$/;
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
/** `auto`: pod Events and the readiness-gate condition when running in a cluster; `off`: never. */
export const KUBERNETES_STATUS_MODES = ['auto', 'off'] as const;
export type KubernetesStatusMode = (typeof KUBERNETES_STATUS_MODES)[number];
/** AWS allows up to 24 dimensions per product; a dimension name is 1-255 characters. */
export const MAX_USAGE_DIMENSIONS = 24;
export const USAGE_DIMENSION_PATTERN = /^[^\s,]{1,255}$/;
/** A PEM public key is under 1 KiB (3072 bits: about 625 bytes); anything far larger is not one. */
export const MAX_PUBLIC_KEY_BYTES = 16 * 1024;

function productCode(value: string, name: string): string {
  if (!PRODUCT_CODE_PATTERN.test(value)) throw new SettingProblem(`${name} must be 1-255 characters of [-a-zA-Z0-9/=:_.@]`);
  return value;
}

function productCodes(value: string, name: string): string[] {
  const codes = parseList(value);
  if (codes.length === 0 || codes.some((c) => !PRODUCT_CODE_PATTERN.test(c))) {
    throw new SettingProblem(`${name} must be a comma-separated list of product codes of [-a-zA-Z0-9/=:_.@]`);
  }
  return codes;
}

function keyVersion(value: string, name: string): number {
  return integer(1, 2 ** 31 - 1, 'an integer >= 1')(value, name);
}

function absoluteFile(value: string, name: string): string {
  if (!value.startsWith('/') || value.endsWith('/')) throw new SettingProblem(`${name} must be an absolute file path, got "${value}"`);
  return value;
}

function dimensions(value: string, name: string): string[] {
  const list = parseList(value);
  if (list.length === 0 || list.length > MAX_USAGE_DIMENSIONS || list.some((d) => !USAGE_DIMENSION_PATTERN.test(d))) {
    throw new SettingProblem(`${name} must be a comma-separated list of 1 to ${MAX_USAGE_DIMENSIONS} dimension names of 1-255 characters without spaces`);
  }
  if (new Set(list).size !== list.length) throw new SettingProblem(`${name} lists a dimension twice`);
  return list;
}

function setting<T>(env: string, flag: string, parse: (value: string, name: string) => T, defaultText?: string): SettingSpec<T> & { readonly variable: string } {
  return { env: [env], variable: env, flag, parse, ...(defaultText === undefined ? {} : { default: defaultText }) };
}

/** Every setting of `run`, in the README's order. */
export const RUN_SETTINGS = {
  productCode: setting('MARKETPLACE_PRODUCT_CODE', 'product-code', productCode),
  publicKeyVersion: setting('MARKETPLACE_PUBLIC_KEY_VERSION', 'public-key-version', keyVersion, '1'),
  publicKeyFile: setting('MARKETPLACE_PUBLIC_KEY_FILE', 'public-key-file', text),
  publicKey: setting('MARKETPLACE_PUBLIC_KEY', 'public-key', text),
  trustedProductCodes: setting('MARKETPLACE_TRUSTED_PRODUCT_CODES', 'trusted-product-codes', productCodes),
  entitlementFile: setting('ENTITLEMENT_FILE', 'entitlement-file', absoluteFile, '/var/run/marketplace/entitlement.json'),
  listen: setting('ENTITLEMENT_LISTEN', 'listen', listenAddress, '0.0.0.0:9797'),
  registerDeadline: setting('ENTITLEMENT_REGISTER_DEADLINE', 'register-deadline', duration(1000, 24 * 3_600_000, 'from 1s to 24h'), '30m'),
  logLevel: setting('LOG_LEVEL', 'log-level', oneOf(LOG_LEVELS), 'info'),
  kubernetesStatus: setting('ENTITLEMENT_KUBERNETES_STATUS', 'kubernetes-status', oneOf(KUBERNETES_STATUS_MODES), 'auto'),
  usageDimensions: setting('MARKETPLACE_USAGE_DIMENSIONS', 'usage-dimensions', dimensions),
  usageListen: setting('ENTITLEMENT_USAGE_LISTEN', 'usage-listen', listenAddress, '127.0.0.1:9798'),
} as const;

/** Settings a `run` cannot do without (the key: exactly one of its two forms). */
const REQUIRED = new Set<string>(['MARKETPLACE_PRODUCT_CODE', 'MARKETPLACE_PUBLIC_KEY_FILE', 'MARKETPLACE_PUBLIC_KEY']);

/** The table as the README documents it: variable, flag, default, required. */
export const SETTINGS = Object.values(RUN_SETTINGS).map((s) => ({ env: s.variable, flag: s.flag, default: s.default, required: REQUIRED.has(s.variable) }));

export interface SidecarConfig {
  readonly productCode: string;
  readonly publicKeyVersion: number;
  readonly publicKey: ProductPublicKey;
  /** Where the key came from, for the start-up log: a file path or the variable name. */
  readonly publicKeySource: string;
  readonly trustedProductCodes: readonly string[] | undefined;
  readonly entitlementFile: string;
  readonly listen: ListenAddress;
  readonly registerDeadlineMs: number;
  readonly logLevel: LogLevel;
  readonly kubernetesStatus: KubernetesStatusMode;
  /** Custom-dimension metering; undefined when the product has no usage dimensions configured. */
  readonly usage: UsageConfig | undefined;
}

export interface UsageConfig {
  readonly dimensions: readonly string[];
  readonly listen: ListenAddress;
  /** Where usage is journaled: next to the entitlement file, on the volume that outlives restarts. */
  readonly journalFile: string;
}

export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

function checkWritableDirectory(dir: string): string | undefined {
  try {
    if (!statSync(dir).isDirectory()) return `its directory ${dir} is not a directory`;
  } catch {
    return `its directory ${dir} does not exist; mount the shared entitlement volume there`;
  }
  // access(W_OK) says yes to root on some read-only mounts; creating a file is the real test.
  // A random name: a probe left by a kill -9 (the pid is 1 again in the next container) must not be in the way.
  const probe = join(dir, `.entitlement-sidecar-probe-${randomBytes(6).toString('hex')}`);
  try {
    closeSync(openSync(probe, 'wx', 0o600));
    unlinkSync(probe);
    return undefined;
  } catch (err) {
    return `its directory ${dir} is not writable (${(err as NodeJS.ErrnoException).code ?? 'error'}); mount a writable volume there`;
  }
}

/**
 * The key PEM from the file (bounded, a regular file; a link is followed, as ConfigMap and Secret
 * mounts are links) or the variable (bounded too). Exactly one of the two is given.
 */
export function readPublicKeyText(keyFile: string | undefined, keyText: string | undefined): { pem: string } | { problem: string } {
  if (keyFile === undefined) {
    const pem = keyText ?? '';
    if (Buffer.byteLength(pem) > MAX_PUBLIC_KEY_BYTES) {
      return { problem: `MARKETPLACE_PUBLIC_KEY is ${Buffer.byteLength(pem)} bytes; a PEM public key is at most ${MAX_PUBLIC_KEY_BYTES}` };
    }
    return { pem };
  }
  try {
    return { pem: readRegularFileSync(keyFile, MAX_PUBLIC_KEY_BYTES, { followSymlinks: true }).toString('utf8') };
  } catch (err) {
    if (err instanceof FileRefusedError) {
      const why = err.reason === 'too-large' ? `is larger than ${MAX_PUBLIC_KEY_BYTES} bytes, far more than a PEM public key` : err.message.slice(keyFile.length + 1);
      return { problem: `MARKETPLACE_PUBLIC_KEY_FILE ${keyFile} ${why}; give the path of the product's public key PEM` };
    }
    return { problem: `MARKETPLACE_PUBLIC_KEY_FILE ${keyFile} cannot be read (${fileErrorCode(err)})` };
  }
}

/** The product's key from exactly one of its two settings: parsed, vetted, and where it came from. */
export function productPublicKey(keyFile: string | undefined, keyText: string | undefined, problems: string[]): { key: ProductPublicKey; source: string } | undefined {
  if (keyFile !== undefined && keyText !== undefined) {
    problems.push('MARKETPLACE_PUBLIC_KEY_FILE and MARKETPLACE_PUBLIC_KEY are both set; set exactly one');
    return undefined;
  }
  if (keyFile === undefined && keyText === undefined) {
    problems.push('MARKETPLACE_PUBLIC_KEY_FILE or MARKETPLACE_PUBLIC_KEY is required: the RSA public key PEM AWS Marketplace issued for the product');
    return undefined;
  }
  const read = readPublicKeyText(keyFile, keyText);
  if ('problem' in read) {
    problems.push(read.problem);
    return undefined;
  }
  try {
    return { key: parseProductPublicKey(read.pem), source: keyFile ?? 'MARKETPLACE_PUBLIC_KEY' };
  } catch (err) {
    if (!(err instanceof PublicKeyError)) throw err;
    problems.push(`${keyFile !== undefined ? 'MARKETPLACE_PUBLIC_KEY_FILE' : 'MARKETPLACE_PUBLIC_KEY'} ${err.message}`);
    return undefined;
  }
}

/** Validates every setting of `run` and reports all problems together. Returns a frozen config. */
export function loadSidecarConfig(argv: readonly string[], env: NodeJS.ProcessEnv): SidecarConfig {
  const { values: v, problems } = readSettings(RUN_SETTINGS, argv, env, { command: 'entitlement-sidecar run', blame: 'env' });

  if (v.productCode === undefined && !problems.some((p) => p.startsWith('MARKETPLACE_PRODUCT_CODE'))) {
    problems.push('MARKETPLACE_PRODUCT_CODE is required: the product code of the AWS Marketplace listing');
  }
  const key = productPublicKey(v.publicKeyFile, v.publicKey, problems);
  if (v.trustedProductCodes !== undefined && v.productCode !== undefined && !v.trustedProductCodes.includes(v.productCode)) {
    problems.push(
      `MARKETPLACE_PRODUCT_CODE "${v.productCode}" is not one of MARKETPLACE_TRUSTED_PRODUCT_CODES (${v.trustedProductCodes.join(', ')}); the seller allows only those`,
    );
  }
  if (v.entitlementFile !== undefined) {
    const dirProblem = checkWritableDirectory(dirname(v.entitlementFile));
    if (dirProblem !== undefined) problems.push(`ENTITLEMENT_FILE ${dirProblem}`);
  }
  const usage = v.usageDimensions === undefined ? undefined : usageConfig(v.usageDimensions, v.usageListen, v.listen, v.entitlementFile, problems);

  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze({
    productCode: v.productCode as string,
    publicKeyVersion: v.publicKeyVersion as number,
    publicKey: (key as { key: ProductPublicKey }).key,
    publicKeySource: (key as { source: string }).source,
    trustedProductCodes: v.trustedProductCodes === undefined ? undefined : Object.freeze(v.trustedProductCodes),
    entitlementFile: v.entitlementFile as string,
    listen: v.listen as ListenAddress,
    registerDeadlineMs: v.registerDeadline as number,
    logLevel: v.logLevel as LogLevel,
    kubernetesStatus: v.kubernetesStatus as KubernetesStatusMode,
    usage,
  });
}

/** Usage metering's settings: the intake only on loopback, never on the probe port. */
function usageConfig(
  dimensionList: readonly string[],
  usageListen: ListenAddress | undefined,
  listen: ListenAddress | undefined,
  entitlementFile: string | undefined,
  problems: string[],
): UsageConfig | undefined {
  if (usageListen === undefined) return undefined;
  if (listen !== undefined && usageListen.port !== 0 && usageListen.port === listen.port) {
    problems.push('ENTITLEMENT_USAGE_LISTEN must use another port than ENTITLEMENT_LISTEN: the usage intake is for the pod only, never the probe listener');
  }
  // The intake has no authentication: being reachable from the pod only is its security boundary.
  const loopback = loopbackLiteral(usageListen.host);
  if (loopback === undefined) {
    const given = usageListen.host.includes(':') ? `[${usageListen.host}]:${usageListen.port}` : `${usageListen.host}:${usageListen.port}`;
    problems.push(
      `ENTITLEMENT_USAGE_LISTEN must be a loopback IP address (127.0.0.0/8 or [::1]) and a port, such as 127.0.0.1:9798, got "${given}": only the pod's own containers may report usage (host names are not accepted)`,
    );
    return undefined;
  }
  return Object.freeze({
    dimensions: Object.freeze([...dimensionList]),
    listen: Object.freeze({ host: loopback, port: usageListen.port }),
    journalFile: join(dirname(entitlementFile ?? '/'), 'usage-journal.ndjson'),
  });
}
