#!/usr/bin/env node
/**
 * Verifies the entitlement file the marketplace-entitlement-sidecar writes, from a Node app, with the
 * package's own verifiers (npm i marketplace-entitlement-sidecar; they load no AWS SDK):
 * verifyEntitlementFile for RegisterUsage files, checkLicenseEntitlementFile for License Manager files,
 * whose reason words it passes on unchanged.
 *
 *   import { verifyEntitlement } from './verify-entitlement.mjs';
 *   const ent = await verifyEntitlement('/var/run/marketplace/entitlement.json', {
 *     productCode: 'prod-abc123',                      // your own, never the file's
 *     publicKey: process.env.MARKETPLACE_PUBLIC_KEY,   // the product's PEM
 *   });                                                // throws EntitlementError { reason, message }
 *
 * The rules are the same in every recipe of examples/verify (reason words in its README).
 */
import { createPublicKey } from 'node:crypto';
import { constants as fs, readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { checkLicenseEntitlementFile, EntitlementFileError, parseProductPublicKey, verifyEntitlementFile } from 'marketplace-entitlement-sidecar';

export const REGISTER_USAGE = 'register-usage';
export const LICENSE_MANAGER = 'license-manager';
/** The key fingerprint of licenses AWS Marketplace issues; anything else is a license someone else made. */
export { AWS_MARKETPLACE_KEY_FINGERPRINT as AWS_MARKETPLACE_FINGERPRINT } from 'marketplace-entitlement-sidecar';
const MAX_FILE_BYTES = 64 * 1024;
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$/i;

export class EntitlementError extends Error {
  /** @param {string} reason a stable word @param {string} message */
  constructor(reason, message) {
    super(message);
    this.name = 'EntitlementError';
    this.reason = reason;
  }
}

/**
 * @param {string} path
 * @param {{ source?: string, productCode?: string, publicKey?: string | import('node:crypto').KeyObject,
 *   publicKeyVersion?: number, productSku?: string, issuerKey?: string | import('node:crypto').KeyObject, now?: Date }} config
 */
export async function verifyEntitlement(path, config) {
  const { source = REGISTER_USAGE, now = new Date() } = config;
  // The file is read here for its `source` (an unknown one is malformed, where the package's verifiers
  // say wrong_source) and for the License Manager file's issuedAt, which the package does not return.
  const record = await readRecord(path);
  const actual = Object.hasOwn(record, 'source') ? record.source : REGISTER_USAGE;
  if (actual !== REGISTER_USAGE && actual !== LICENSE_MANAGER) throw new EntitlementError('malformed', `${path}: unknown source ${JSON.stringify(actual)}`);
  if (actual !== source) throw new EntitlementError('wrong_source', `${path} is a ${actual} file; this app expects ${source}`);
  try {
    return source === LICENSE_MANAGER ? await licenseManager(path, record, config, now) : await registerUsage(path, config, now);
  } catch (err) {
    if (err instanceof EntitlementFileError) throw new EntitlementError(err.reason, err.message);
    throw err;
  }
}

async function registerUsage(path, config, now) {
  if (config.productCode === undefined || config.publicKey === undefined) throw new TypeError('productCode and publicKey are required for register-usage files');
  // The package's verifier reads the file again (it takes a path): PS256 pinned, canonical
  // base64url, claims equal to the file's fields and to productCode, iat at most 5 minutes ahead.
  const v = await verifyEntitlementFile(path, {
    publicKey: config.publicKey,
    productCode: config.productCode,
    ...(config.publicKeyVersion === undefined ? {} : { publicKeyVersion: config.publicKeyVersion }),
    now,
  });
  return { valid: true, source: REGISTER_USAGE, productCode: v.productCode, publicKeyVersion: v.publicKeyVersion, issuedAt: v.issuedAt?.toISOString() ?? null, tokenVerified: true };
}

async function licenseManager(path, record, config, now) {
  if (config.productSku === undefined) throw new TypeError('productSku is required for license-manager files');
  // The package's checker reads the file again: well-formed, this SKU, AWS Marketplace's issuer
  // fingerprint, expiration ahead; with the issuer key, the SignedToken (PS384) naming this license.
  const v = await checkLicenseEntitlementFile(path, {
    productSku: config.productSku,
    ...(config.issuerKey === undefined ? {} : { licensePublicKey: toKey(config.issuerKey) }),
    now,
  });
  return {
    valid: true, source: LICENSE_MANAGER, productSku: v.productSku, licenseArn: v.licenseArn, checkoutType: v.checkoutType,
    entitlements: v.entitlements.map((e) => ({ name: e.name, unit: e.unit, value: e.value })),
    issuedAt: typeof record.issuedAt === 'string' ? record.issuedAt : null,
    expiration: v.expiration.toISOString(), stale: v.stale, tokenVerified: v.signedTokenVerified,
  };
}

/** The file as the sidecar writes it: a regular file, never a link followed, a FIFO blocked on or megabytes read. */
async function readRecord(path) {
  let handle;
  try {
    handle = await open(path, fs.O_RDONLY | fs.O_NOFOLLOW | fs.O_NONBLOCK);
  } catch (err) {
    throw new EntitlementError('unreadable', `${path} cannot be read (${err.code})`);
  }
  let text;
  try {
    if (!(await handle.stat()).isFile()) throw new EntitlementError('unreadable', `${path} is not a regular file`);
    const buffer = Buffer.alloc(MAX_FILE_BYTES + 1);
    let total = 0;
    for (let n; total < buffer.length && (n = (await handle.read(buffer, total, buffer.length - total, total)).bytesRead) > 0;) total += n;
    if (total > MAX_FILE_BYTES) throw new EntitlementError('unreadable', `${path} is larger than ${MAX_FILE_BYTES} bytes`);
    text = buffer.subarray(0, total).toString('utf8');
  } finally {
    await handle.close();
  }
  let record;
  try {
    record = JSON.parse(text);
  } catch {
    throw new EntitlementError('malformed', `${path} is not JSON`);
  }
  if (!isObject(record)) throw new EntitlementError('malformed', `${path} is not a JSON object`);
  return record;
}

const isObject = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Epoch milliseconds of an RFC 3339 time with a zone, or undefined: as the package reads the file's times. */
function instant(text) {
  if (typeof text !== 'string' || !RFC3339.test(text)) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}

function toKey(key) {
  const k = typeof key === 'string' ? createPublicKey(key) : key;
  if (k.asymmetricKeyType !== 'rsa' || k.asymmetricKeyDetails.modulusLength < 2048) throw new TypeError('the key must be an RSA public key of at least 2048 bits');
  return k;
}

/** The CLI: one JSON line on stdout; exit 0 valid, 1 invalid, 2 bad arguments. */
export async function main(argv) {
  const usage = (problem) => {
    process.stderr.write(`verify-entitlement: ${problem}\nusage: verify-entitlement.mjs [--source register-usage|license-manager] [--product-code CODE --public-key PEM-FILE`
      + ' [--public-key-version N]] [--product-sku SKU [--issuer-key PEM-FILE]] [--now RFC3339] FILE\n');
    return 2;
  };
  let values;
  let positionals;
  try {
    const names = ['source', 'product-code', 'public-key', 'public-key-version', 'product-sku', 'issuer-key', 'now'];
    ({ values, positionals } = parseArgs({ args: argv, allowPositionals: true, strict: true, options: Object.fromEntries(names.map((n) => [n, { type: 'string' }])) }));
  } catch (err) {
    return usage(err.message);
  }
  if (positionals.length !== 1) return usage(`one entitlement file expected, got ${positionals.length}`);
  const config = { source: values.source ?? REGISTER_USAGE };
  if (config.source === REGISTER_USAGE) {
    if (values['product-code'] === undefined || values['public-key'] === undefined) return usage('--product-code and --public-key are required for register-usage');
    config.productCode = values['product-code'];
  } else if (config.source === LICENSE_MANAGER) {
    if (values['product-sku'] === undefined) return usage('--product-sku is required for license-manager');
    config.productSku = values['product-sku'];
  } else {
    return usage('--source must be register-usage or license-manager');
  }
  try {
    if (values['public-key'] !== undefined) config.publicKey = parseProductPublicKey(readFileSync(values['public-key'], 'utf8')).key;
    if (values['issuer-key'] !== undefined) config.issuerKey = toKey(readFileSync(values['issuer-key'], 'utf8'));
  } catch (err) {
    return usage(err.message);
  }
  if (values['public-key-version'] !== undefined) {
    if (!/^[0-9]{1,9}$/.test(values['public-key-version']) || Number(values['public-key-version']) < 1) return usage('--public-key-version must be an integer >= 1');
    config.publicKeyVersion = Number(values['public-key-version']);
  }
  if (values.now !== undefined) {
    const at = instant(values.now);
    if (at === undefined) return usage(`--now ${values.now} is not an RFC 3339 time`);
    config.now = new Date(at);
  }
  try {
    process.stdout.write(`${JSON.stringify(await verifyEntitlement(positionals[0], config))}\n`);
    return 0;
  } catch (err) {
    if (!(err instanceof EntitlementError)) throw err;
    process.stdout.write(`${JSON.stringify({ valid: false, reason: err.reason, message: err.message })}\n`);
    return 1;
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2));
}
