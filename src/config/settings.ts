import { dirname, join } from 'node:path';
import { DEFAULT_LICENSE_TOKEN_DIR, type CheckoutType } from '../aws/license-manager-model.js';
import type { ProductPublicKey } from '../entitlement/public-key.js';
import { loopbackLiteral } from '../shared/addresses.js';
import type { ListenAddress } from '../shared/http.js';
import { readSettings, type SettingSpec } from './flags.js';
import { duration, listenAddress, oneOf, text } from './parse.js';
import {
  absoluteFile,
  checkoutType,
  checkWritableDirectory,
  dimensions,
  keyVersion,
  licenseEntitlements,
  licensePublicKey,
  productCode,
  productCodes,
  productPublicKey,
  productSku,
  productSkus,
  type LicenseEntitlement,
} from './values.js';

/**
 * THE settings of the sidecar: one table (variable, flag, default, typed parser), read once by
 * `loadSidecarConfig` for `run`, and by the other commands for the rows they share (`verify`: the
 * product and key rows; `check`: the listen row). The README's configuration table is checked against
 * SETTINGS, both ways. The parsers are values.ts's.
 */

export { PRODUCT_CODE_PATTERN, MAX_PUBLIC_KEY_BYTES, MAX_USAGE_DIMENSIONS, USAGE_DIMENSION_PATTERN, licensePublicKey, productPublicKey, readPublicKeyText } from './values.js';
export type { LicenseEntitlement } from './values.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
/** `auto`: pod Events and the readiness-gate condition when running in a cluster; `off`: never. */
export const KUBERNETES_STATUS_MODES = ['auto', 'off'] as const;
export type KubernetesStatusMode = (typeof KUBERNETES_STATUS_MODES)[number];
/** How a pod becomes entitled: RegisterUsage (hourly products) or License Manager (contract products). */
export const ENTITLEMENT_SOURCES = ['register-usage', 'license-manager'] as const;
export type EntitlementSourceKind = (typeof ENTITLEMENT_SOURCES)[number];

function setting<T>(env: string, flag: string, parse: (value: string, name: string) => T, defaultText?: string): SettingSpec<T> & { readonly variable: string } {
  return { env: [env], variable: env, flag, parse, ...(defaultText === undefined ? {} : { default: defaultText }) };
}

/** Where Kubernetes reads a container's termination message unless its terminationMessagePath says otherwise. */
export const DEFAULT_TERMINATION_MESSAGE_PATH = '/dev/termination-log';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Every setting of `run`, in the README's order. */
export const RUN_SETTINGS = {
  source: setting('ENTITLEMENT_SOURCE', 'source', oneOf(ENTITLEMENT_SOURCES), 'register-usage'),
  productCode: setting('MARKETPLACE_PRODUCT_CODE', 'product-code', productCode),
  publicKeyVersion: setting('MARKETPLACE_PUBLIC_KEY_VERSION', 'public-key-version', keyVersion, '1'),
  publicKeyFile: setting('MARKETPLACE_PUBLIC_KEY_FILE', 'public-key-file', text),
  publicKey: setting('MARKETPLACE_PUBLIC_KEY', 'public-key', text),
  trustedProductCodes: setting('MARKETPLACE_TRUSTED_PRODUCT_CODES', 'trusted-product-codes', productCodes),
  productSku: setting('MARKETPLACE_PRODUCT_SKU', 'product-sku', productSku),
  trustedProductSkus: setting('MARKETPLACE_TRUSTED_PRODUCT_SKUS', 'trusted-product-skus', productSkus),
  licenseEntitlements: setting('MARKETPLACE_LICENSE_ENTITLEMENTS', 'license-entitlements', licenseEntitlements),
  checkoutType: setting('MARKETPLACE_LICENSE_CHECKOUT_TYPE', 'license-checkout-type', checkoutType, 'PROVISIONAL'),
  licenseCheckInterval: setting('ENTITLEMENT_LICENSE_CHECK_INTERVAL', 'license-check-interval', duration(1000, DAY, 'from 1s to 24h'), '15m'),
  licenseGrace: setting('ENTITLEMENT_LICENSE_GRACE', 'license-grace', duration(0, 30 * DAY, 'from 0s to 30d'), '24h'),
  licensePublicKeyFile: setting('MARKETPLACE_LICENSE_PUBLIC_KEY_FILE', 'license-public-key-file', text),
  licensePublicKey: setting('MARKETPLACE_LICENSE_PUBLIC_KEY', 'license-public-key', text),
  licenseTokenDir: setting('ENTITLEMENT_LICENSE_TOKEN_DIR', 'license-token-dir', absoluteFile, DEFAULT_LICENSE_TOKEN_DIR),
  entitlementFile: setting('ENTITLEMENT_FILE', 'entitlement-file', absoluteFile, '/var/run/marketplace/entitlement.json'),
  listen: setting('ENTITLEMENT_LISTEN', 'listen', listenAddress, '0.0.0.0:9797'),
  registerDeadline: setting('ENTITLEMENT_REGISTER_DEADLINE', 'register-deadline', duration(1000, DAY, 'from 1s to 24h'), '30m'),
  logLevel: setting('LOG_LEVEL', 'log-level', oneOf(LOG_LEVELS), 'info'),
  kubernetesStatus: setting('ENTITLEMENT_KUBERNETES_STATUS', 'kubernetes-status', oneOf(KUBERNETES_STATUS_MODES), 'auto'),
  usageDimensions: setting('MARKETPLACE_USAGE_DIMENSIONS', 'usage-dimensions', dimensions),
  usageListen: setting('ENTITLEMENT_USAGE_LISTEN', 'usage-listen', listenAddress, '127.0.0.1:9798'),
  terminationMessagePath: setting('ENTITLEMENT_TERMINATION_MESSAGE_PATH', 'termination-message-path', absoluteFile, DEFAULT_TERMINATION_MESSAGE_PATH),
} as const;

type RunSetting = keyof typeof RUN_SETTINGS;

/** The settings each source needs, and the ones that belong to the other source and must not be set. */
const SOURCE_SETTINGS: Readonly<Record<EntitlementSourceKind, { readonly required: readonly RunSetting[]; readonly only: readonly RunSetting[] }>> = {
  'register-usage': { required: ['productCode'], only: ['productCode', 'publicKeyVersion', 'publicKeyFile', 'publicKey', 'trustedProductCodes', 'usageDimensions'] },
  'license-manager': {
    required: ['productSku', 'licenseEntitlements'],
    only: ['productSku', 'trustedProductSkus', 'licenseEntitlements', 'checkoutType', 'licenseCheckInterval', 'licenseGrace', 'licensePublicKeyFile', 'licensePublicKey', 'licenseTokenDir'],
  },
};

/** The table as the README documents it: variable, flag, default, and whether a source requires it. */
export const SETTINGS = Object.entries(RUN_SETTINGS).map(([key, s]) => ({
  env: s.variable,
  flag: s.flag,
  default: s.default,
  required: key === 'publicKeyFile' || key === 'publicKey' || Object.values(SOURCE_SETTINGS).some((r) => r.required.includes(key as RunSetting)),
}));

/** Hourly products: RegisterUsage and the product's PS256 token. */
export interface RegisterUsageConfig {
  readonly kind: 'register-usage';
  readonly productCode: string;
  readonly publicKeyVersion: number;
  readonly publicKey: ProductPublicKey;
  /** Where the key came from, for the start-up log: a file path or the variable name. */
  readonly publicKeySource: string;
  readonly trustedProductCodes: readonly string[] | undefined;
}

/** Contract products: a license checked with License Manager. */
export interface LicenseManagerConfig {
  readonly kind: 'license-manager';
  readonly productSku: string;
  readonly trustedProductSkus: readonly string[] | undefined;
  readonly entitlements: readonly LicenseEntitlement[];
  readonly checkoutType: CheckoutType;
  readonly checkIntervalMs: number;
  readonly graceMs: number;
  /** The issuer's key that verifies SignedToken (PS384); undefined: SignedToken is kept, not verified. */
  readonly signingKey: { readonly key: ProductPublicKey; readonly source: string } | undefined;
  /** Where the buyer's license Secret is mounted outside AWS (license_token, iam_role); used when present. */
  readonly licenseTokenDir: string;
}

export interface SidecarConfig {
  readonly source: RegisterUsageConfig | LicenseManagerConfig;
  readonly entitlementFile: string;
  readonly listen: ListenAddress;
  readonly registerDeadlineMs: number;
  readonly logLevel: LogLevel;
  readonly kubernetesStatus: KubernetesStatusMode;
  /** Custom-dimension metering (RegisterUsage products only); undefined when no dimensions are configured. */
  readonly usage: UsageConfig | undefined;
  /** `register` writes its outcome here when the file exists (Kubernetes' terminationMessagePath). */
  readonly terminationMessagePath: string;
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

/** Validates every setting of `run` and reports all problems together. Returns a frozen config. */
export function loadSidecarConfig(argv: readonly string[], env: NodeJS.ProcessEnv, command: 'run' | 'register' = 'run'): SidecarConfig {
  const read = readSettings(RUN_SETTINGS, argv, env, { command: `entitlement-sidecar ${command}`, blame: 'env' });
  const { values: v, problems, given } = read;
  const kind = v.source ?? 'register-usage';
  const other = kind === 'register-usage' ? 'license-manager' : 'register-usage';
  for (const key of SOURCE_SETTINGS[other].only) {
    if (given[key] && !SOURCE_SETTINGS[kind].only.includes(key)) {
      problems.push(`${RUN_SETTINGS[key].variable} is a setting of ENTITLEMENT_SOURCE=${other}, and this sidecar runs with ENTITLEMENT_SOURCE=${kind}; unset it`);
    }
  }
  const source = kind === 'register-usage' ? registerUsageConfig(v, problems) : licenseManagerConfig(v, problems);
  if (v.entitlementFile !== undefined) {
    const dirProblem = checkWritableDirectory(dirname(v.entitlementFile));
    if (dirProblem !== undefined) problems.push(`ENTITLEMENT_FILE ${dirProblem}`);
  }
  const usage = v.usageDimensions === undefined || kind !== 'register-usage' ? undefined : usageConfig(v.usageDimensions, v.usageListen, v.listen, v.entitlementFile, problems);

  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze({
    source: source as RegisterUsageConfig | LicenseManagerConfig,
    entitlementFile: v.entitlementFile as string,
    listen: v.listen as ListenAddress,
    registerDeadlineMs: v.registerDeadline as number,
    logLevel: v.logLevel as LogLevel,
    kubernetesStatus: v.kubernetesStatus as KubernetesStatusMode,
    usage,
    terminationMessagePath: v.terminationMessagePath as string,
  });
}

type Values = ReturnType<typeof readSettings<typeof RUN_SETTINGS>>['values'];

function registerUsageConfig(v: Values, problems: string[]): RegisterUsageConfig | undefined {
  if (v.productCode === undefined && !problems.some((p) => p.startsWith('MARKETPLACE_PRODUCT_CODE'))) {
    problems.push('MARKETPLACE_PRODUCT_CODE is required: the product code of the AWS Marketplace listing');
  }
  const key = productPublicKey(v.publicKeyFile, v.publicKey, problems);
  if (v.trustedProductCodes !== undefined && v.productCode !== undefined && !v.trustedProductCodes.includes(v.productCode)) {
    problems.push(
      `MARKETPLACE_PRODUCT_CODE "${v.productCode}" is not one of MARKETPLACE_TRUSTED_PRODUCT_CODES (${v.trustedProductCodes.join(', ')}); the seller allows only those`,
    );
  }
  if (v.productCode === undefined || key === undefined || v.publicKeyVersion === undefined) return undefined;
  return Object.freeze({
    kind: 'register-usage',
    productCode: v.productCode,
    publicKeyVersion: v.publicKeyVersion,
    publicKey: key.key,
    publicKeySource: key.source,
    trustedProductCodes: v.trustedProductCodes === undefined ? undefined : Object.freeze(v.trustedProductCodes),
  });
}

function licenseManagerConfig(v: Values, problems: string[]): LicenseManagerConfig | undefined {
  const named = (p: string) => problems.some((x) => x.startsWith(p));
  if (v.productSku === undefined && !named('MARKETPLACE_PRODUCT_SKU')) {
    problems.push('MARKETPLACE_PRODUCT_SKU is required with ENTITLEMENT_SOURCE=license-manager: the product ID (a UUID) from the AWS Marketplace Management Portal');
  }
  if (v.licenseEntitlements === undefined && !named('MARKETPLACE_LICENSE_ENTITLEMENTS')) {
    problems.push('MARKETPLACE_LICENSE_ENTITLEMENTS is required with ENTITLEMENT_SOURCE=license-manager: the entitlements to check out, e.g. BasicTier:None,PremiumTier:None or Nodes:Count:1');
  }
  if (v.trustedProductSkus !== undefined && v.productSku !== undefined && !v.trustedProductSkus.includes(v.productSku)) {
    problems.push(`MARKETPLACE_PRODUCT_SKU "${v.productSku}" is not one of MARKETPLACE_TRUSTED_PRODUCT_SKUS (${v.trustedProductSkus.join(', ')}); the seller allows only those`);
  }
  const signingKey = licensePublicKey(v.licensePublicKeyFile, v.licensePublicKey, problems);
  if (v.productSku === undefined || v.licenseEntitlements === undefined || v.checkoutType === undefined || v.licenseCheckInterval === undefined || v.licenseGrace === undefined) {
    return undefined;
  }
  return Object.freeze({
    kind: 'license-manager',
    productSku: v.productSku,
    trustedProductSkus: v.trustedProductSkus === undefined ? undefined : Object.freeze(v.trustedProductSkus),
    entitlements: Object.freeze(v.licenseEntitlements.map((e) => Object.freeze(e))),
    checkoutType: v.checkoutType,
    checkIntervalMs: v.licenseCheckInterval,
    graceMs: v.licenseGrace,
    signingKey,
    licenseTokenDir: v.licenseTokenDir as string,
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
