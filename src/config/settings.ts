import { randomBytes } from 'node:crypto';
import { closeSync, openSync, statSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { loopbackLiteral } from '../shared/addresses.js';
import type { ListenAddress } from '../shared/http.js';
import { parseArgs, parseDuration, parseListen } from './parse.js';
import { parseProductPublicKey, PublicKeyError, type ProductPublicKey } from '../entitlement/public-key.js';
import { FileRefusedError, fileErrorCode, readRegularFileSync } from '../shared/regular-file.js';

/** AWS's model for ProductCode: up to 255 of these characters (we also require at least one). */
export const PRODUCT_CODE_PATTERN = /^[-a-zA-Z0-9/=:_.@]{1,255}$/;
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
/** `auto`: pod Events and the readiness-gate condition when running in a cluster; `off`: never. */
export const KUBERNETES_STATUS_MODES = ['auto', 'off'] as const;
export type KubernetesStatusMode = (typeof KUBERNETES_STATUS_MODES)[number];

/**
 * Every setting of the `run` command. The README's configuration table is checked against this list.
 * `flag` is the command-line form; flags win over the environment.
 */
export const SETTINGS = [
  { env: 'MARKETPLACE_PRODUCT_CODE', flag: 'product-code', default: undefined, required: true },
  { env: 'MARKETPLACE_PUBLIC_KEY_VERSION', flag: 'public-key-version', default: '1', required: false },
  // Exactly one of the two key settings is required.
  { env: 'MARKETPLACE_PUBLIC_KEY_FILE', flag: 'public-key-file', default: undefined, required: true },
  { env: 'MARKETPLACE_PUBLIC_KEY', flag: 'public-key', default: undefined, required: true },
  { env: 'MARKETPLACE_TRUSTED_PRODUCT_CODES', flag: 'trusted-product-codes', default: undefined, required: false },
  { env: 'ENTITLEMENT_FILE', flag: 'entitlement-file', default: '/var/run/marketplace/entitlement.json', required: false },
  { env: 'ENTITLEMENT_LISTEN', flag: 'listen', default: '0.0.0.0:9797', required: false },
  { env: 'ENTITLEMENT_REGISTER_DEADLINE', flag: 'register-deadline', default: '30m', required: false },
  { env: 'LOG_LEVEL', flag: 'log-level', default: 'info', required: false },
  { env: 'ENTITLEMENT_KUBERNETES_STATUS', flag: 'kubernetes-status', default: 'auto', required: false },
  { env: 'MARKETPLACE_USAGE_DIMENSIONS', flag: 'usage-dimensions', default: undefined, required: false },
  { env: 'ENTITLEMENT_USAGE_LISTEN', flag: 'usage-listen', default: '127.0.0.1:9798', required: false },
] as const;
type SettingName = (typeof SETTINGS)[number]['env'];

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

/** AWS allows up to 24 dimensions per product; a dimension name is 1-255 characters. */
export const MAX_USAGE_DIMENSIONS = 24;
export const USAGE_DIMENSION_PATTERN = /^[^\s,]{1,255}$/;

export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** Reads the raw value of each setting: flag, else non-empty environment variable, else default. */
function rawSettings(argv: readonly string[], env: NodeJS.ProcessEnv) {
  const known = new Set<string>(SETTINGS.map((s) => s.flag));
  const args = parseArgs(argv, known);
  const problems = [...args.problems];
  if (args.positionals.length > 0) problems.push(`unexpected argument(s): ${args.positionals.join(' ')}`);
  const raw = new Map<SettingName, string | undefined>();
  for (const s of SETTINGS) {
    const fromFlag = args.flags.get(s.flag);
    const fromEnv = env[s.env];
    raw.set(s.env, fromFlag ?? (fromEnv !== undefined && fromEnv !== '' ? fromEnv : s.default));
  }
  return { raw, problems };
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

/** A PEM public key is under 1 KiB (3072 bits: about 625 bytes); anything far larger is not one. */
export const MAX_PUBLIC_KEY_BYTES = 16 * 1024;

/**
 * The key PEM from the file (bounded, a regular file; a link is followed, as ConfigMap and Secret
 * mounts are links) or the variable (bounded too). Exactly one of the two is given.
 */
export function readPublicKeyText(keyFile: string | undefined, keyText: string | undefined): { pem: string } | { problem: string } {
  if (keyFile === undefined) {
    const text = keyText ?? '';
    if (Buffer.byteLength(text) > MAX_PUBLIC_KEY_BYTES) {
      return { problem: `MARKETPLACE_PUBLIC_KEY is ${Buffer.byteLength(text)} bytes; a PEM public key is at most ${MAX_PUBLIC_KEY_BYTES}` };
    }
    return { pem: text };
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

/** Validates every setting of `run` and reports all problems together. Returns a frozen config. */
export function loadSidecarConfig(argv: readonly string[], env: NodeJS.ProcessEnv): SidecarConfig {
  const { raw, problems } = rawSettings(argv, env);
  const get = (name: SettingName) => raw.get(name);

  const productCode = get('MARKETPLACE_PRODUCT_CODE');
  if (productCode === undefined) {
    problems.push('MARKETPLACE_PRODUCT_CODE is required: the product code of the AWS Marketplace listing');
  } else if (!PRODUCT_CODE_PATTERN.test(productCode)) {
    problems.push('MARKETPLACE_PRODUCT_CODE must be 1-255 characters of [-a-zA-Z0-9/=:_.@]');
  }

  const versionText = get('MARKETPLACE_PUBLIC_KEY_VERSION') as string;
  const publicKeyVersion = /^\d+$/.test(versionText) ? Number(versionText) : NaN;
  if (!Number.isSafeInteger(publicKeyVersion) || publicKeyVersion < 1 || publicKeyVersion > 2 ** 31 - 1) {
    problems.push(`MARKETPLACE_PUBLIC_KEY_VERSION must be an integer >= 1, got "${versionText}"`);
  }

  let publicKey: ProductPublicKey | undefined;
  let publicKeySource = '';
  const keyFile = get('MARKETPLACE_PUBLIC_KEY_FILE');
  const keyText = get('MARKETPLACE_PUBLIC_KEY');
  if (keyFile !== undefined && keyText !== undefined) {
    problems.push('MARKETPLACE_PUBLIC_KEY_FILE and MARKETPLACE_PUBLIC_KEY are both set; set exactly one');
  } else if (keyFile === undefined && keyText === undefined) {
    problems.push('MARKETPLACE_PUBLIC_KEY_FILE or MARKETPLACE_PUBLIC_KEY is required: the RSA public key PEM AWS Marketplace issued for the product');
  } else {
    const name = keyFile !== undefined ? 'MARKETPLACE_PUBLIC_KEY_FILE' : 'MARKETPLACE_PUBLIC_KEY';
    const read = readPublicKeyText(keyFile, keyText);
    if ('problem' in read) problems.push(read.problem);
    const pem = 'pem' in read ? read.pem : undefined;
    if (pem !== undefined) {
      try {
        publicKey = parseProductPublicKey(pem);
        publicKeySource = keyFile ?? name;
      } catch (err) {
        if (!(err instanceof PublicKeyError)) throw err;
        problems.push(`${name} ${err.message}`);
      }
    }
  }

  const trustedText = get('MARKETPLACE_TRUSTED_PRODUCT_CODES');
  let trustedProductCodes: string[] | undefined;
  if (trustedText !== undefined) {
    trustedProductCodes = trustedText.split(',').map((s) => s.trim()).filter((s) => s !== '');
    const bad = trustedProductCodes.filter((c) => !PRODUCT_CODE_PATTERN.test(c));
    if (trustedProductCodes.length === 0 || bad.length > 0) {
      problems.push('MARKETPLACE_TRUSTED_PRODUCT_CODES must be a comma-separated list of product codes of [-a-zA-Z0-9/=:_.@]');
    } else if (productCode !== undefined && !trustedProductCodes.includes(productCode)) {
      problems.push(
        `MARKETPLACE_PRODUCT_CODE "${productCode}" is not one of MARKETPLACE_TRUSTED_PRODUCT_CODES (${trustedProductCodes.join(', ')}); the seller allows only those`,
      );
    }
  }

  const entitlementFile = get('ENTITLEMENT_FILE') as string;
  if (!entitlementFile.startsWith('/') || entitlementFile.endsWith('/')) {
    problems.push(`ENTITLEMENT_FILE must be an absolute file path, got "${entitlementFile}"`);
  } else {
    const dirProblem = checkWritableDirectory(dirname(entitlementFile));
    if (dirProblem !== undefined) problems.push(`ENTITLEMENT_FILE ${dirProblem}`);
  }

  const listenText = get('ENTITLEMENT_LISTEN') as string;
  const listen = parseListen(listenText);
  if (listen === undefined) problems.push(`ENTITLEMENT_LISTEN must be host:port (port 0-65535), got "${listenText}"`);

  const deadlineText = get('ENTITLEMENT_REGISTER_DEADLINE') as string;
  const registerDeadlineMs = parseDuration(deadlineText);
  if (registerDeadlineMs === undefined || registerDeadlineMs < 1000 || registerDeadlineMs > 24 * 3_600_000) {
    problems.push(`ENTITLEMENT_REGISTER_DEADLINE must be a duration from 1s to 24h such as 30m, 90s or 1h30m, got "${deadlineText}"`);
  }

  const logLevel = get('LOG_LEVEL') as string;
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    problems.push(`LOG_LEVEL must be one of: ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);
  }

  const kubernetesStatus = get('ENTITLEMENT_KUBERNETES_STATUS') as string;
  if (!(KUBERNETES_STATUS_MODES as readonly string[]).includes(kubernetesStatus)) {
    problems.push(`ENTITLEMENT_KUBERNETES_STATUS must be one of: ${KUBERNETES_STATUS_MODES.join(', ')}, got "${kubernetesStatus}"`);
  }

  let usage: UsageConfig | undefined;
  const dimensionsText = get('MARKETPLACE_USAGE_DIMENSIONS');
  const usageListenText = get('ENTITLEMENT_USAGE_LISTEN') as string;
  const usageListen = parseListen(usageListenText);
  if (usageListen === undefined) problems.push(`ENTITLEMENT_USAGE_LISTEN must be host:port (port 0-65535), got "${usageListenText}"`);
  if (dimensionsText !== undefined) {
    const dimensions = dimensionsText.split(',').map((d) => d.trim()).filter((d) => d !== '');
    const bad = dimensions.filter((d) => !USAGE_DIMENSION_PATTERN.test(d));
    if (dimensions.length === 0 || dimensions.length > MAX_USAGE_DIMENSIONS || bad.length > 0) {
      problems.push(
        `MARKETPLACE_USAGE_DIMENSIONS must be a comma-separated list of 1 to ${MAX_USAGE_DIMENSIONS} dimension names of 1-255 characters without spaces`,
      );
    } else if (new Set(dimensions).size !== dimensions.length) {
      problems.push('MARKETPLACE_USAGE_DIMENSIONS lists a dimension twice');
    }
    if (usageListen !== undefined && listen !== undefined && usageListen.port !== 0 && usageListen.port === listen.port) {
      problems.push('ENTITLEMENT_USAGE_LISTEN must use another port than ENTITLEMENT_LISTEN: the usage intake is for the pod only, never the probe listener');
    }
    // The intake has no authentication: being reachable from the pod only is its security boundary.
    const loopback = usageListen === undefined ? undefined : loopbackLiteral(usageListen.host);
    if (usageListen !== undefined && loopback === undefined) {
      problems.push(
        `ENTITLEMENT_USAGE_LISTEN must be a loopback IP address (127.0.0.0/8 or [::1]) and a port, such as 127.0.0.1:9798, got "${usageListenText}": only the pod's own containers may report usage (host names are not accepted)`,
      );
    }
    if (usageListen !== undefined && loopback !== undefined) {
      usage = Object.freeze({
        dimensions: Object.freeze(dimensions),
        listen: Object.freeze({ host: loopback, port: usageListen.port }),
        journalFile: join(dirname(entitlementFile), 'usage-journal.ndjson'),
      });
    }
  }

  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze({
    productCode: productCode as string,
    publicKeyVersion,
    publicKey: publicKey as ProductPublicKey,
    publicKeySource,
    trustedProductCodes: trustedProductCodes === undefined ? undefined : Object.freeze(trustedProductCodes),
    entitlementFile,
    listen: listen as ListenAddress,
    registerDeadlineMs: registerDeadlineMs as number,
    logLevel: logLevel as LogLevel,
    kubernetesStatus: kubernetesStatus as KubernetesStatusMode,
    usage,
  });
}
