#!/usr/bin/env node
/**
 * Verifies the entitlement file the marketplace-entitlement-sidecar writes, from a Node app, with the
 * package's own verifyEntitlementFile for RegisterUsage files (npm i marketplace-entitlement-sidecar;
 * it loads no AWS SDK) and node:crypto for the License Manager file's signed token.
 *
 *   import { verifyEntitlement } from './verify-entitlement.mjs';
 *   const ent = await verifyEntitlement('/var/run/marketplace/entitlement.json', {
 *     productCode: 'prod-abc123',                      // your own, never the file's
 *     publicKey: process.env.MARKETPLACE_PUBLIC_KEY,   // the product's PEM
 *   });                                                // throws EntitlementError { reason, message }
 *
 * The rules are the same in every recipe of examples/verify (reason words in its README).
 */
import { constants, createPublicKey, verify as verifySignature } from 'node:crypto';
import { constants as fs, readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { EntitlementFileError, parseProductPublicKey, verifyEntitlementFile } from 'marketplace-entitlement-sidecar';

export const REGISTER_USAGE = 'register-usage';
export const LICENSE_MANAGER = 'license-manager';
/** How far in the future a token's iat may lie (clock differences): 5 minutes, as the sidecar allows. */
export const MAX_SKEW_SECONDS = 300;
/** The key fingerprint of licenses AWS Marketplace issues; anything else is a license someone else made. */
export const AWS_MARKETPLACE_FINGERPRINT = 'aws:294406891311:AWS/Marketplace:issuer-fingerprint';
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
  const record = await readRecord(path);
  const actual = Object.hasOwn(record, 'source') ? record.source : REGISTER_USAGE;
  if (actual !== REGISTER_USAGE && actual !== LICENSE_MANAGER) throw new EntitlementError('malformed', `${path}: unknown source ${JSON.stringify(actual)}`);
  if (actual !== source) throw new EntitlementError('wrong_source', `${path} is a ${actual} file; this app expects ${source}`);
  if (source === LICENSE_MANAGER) return licenseManager(path, record, config, now);

  if (config.productCode === undefined || config.publicKey === undefined) throw new TypeError('productCode and publicKey are required for register-usage files');
  try {
    // The package's verifier reads the file again (it takes a path): PS256 pinned, canonical
    // base64url, claims equal to the file's fields and to productCode, iat at most 5 minutes ahead.
    const v = await verifyEntitlementFile(path, {
      publicKey: config.publicKey,
      productCode: config.productCode,
      ...(config.publicKeyVersion === undefined ? {} : { publicKeyVersion: config.publicKeyVersion }),
      now,
    });
    return { valid: true, source, productCode: v.productCode, publicKeyVersion: v.publicKeyVersion, issuedAt: v.issuedAt?.toISOString() ?? null, tokenVerified: true };
  } catch (err) {
    if (err instanceof EntitlementFileError) throw new EntitlementError(err.reason, err.message);
    throw err;
  }
}

function licenseManager(path, record, config, now) {
  if (config.productSku === undefined) throw new TypeError('productSku is required for license-manager files');
  const { productSku: sku, licenseArn: arn, keyFingerprint: fingerprint, entitlements, stale, signedToken } = record;
  if (typeof sku !== 'string' || typeof arn !== 'string' || typeof fingerprint !== 'string' || typeof stale !== 'boolean'
    || !(signedToken === null || typeof signedToken === 'string') || !isEntitlements(entitlements)) {
    throw new EntitlementError('malformed', `${path} lacks productSku, licenseArn, keyFingerprint, entitlements, stale or signedToken`);
  }
  const expiration = instant(record.expiration);
  if (expiration === undefined) throw new EntitlementError('malformed', `${path}: expiration is not an RFC 3339 time`);
  if (sku !== config.productSku) throw new EntitlementError('product_sku_mismatch', `${path} is for product SKU ${sku}, expected ${config.productSku}`);
  if (fingerprint !== AWS_MARKETPLACE_FINGERPRINT) throw new EntitlementError('key_fingerprint_mismatch', `${path}: the license was not issued by AWS Marketplace (${fingerprint})`);
  if (expiration <= now.getTime()) throw new EntitlementError('expired', `${path}: the license check expired at ${record.expiration}`);
  let verified = false;
  if (config.issuerKey !== undefined) {
    if (signedToken === null) throw new EntitlementError('signed_token_missing', `${path} has no signedToken to verify with the issuer key`);
    const claims = verifiedClaims(signedToken, toKey(config.issuerKey), 'PS384', now);
    if (stringClaim(claims, 'productSku', 'ProductSKU') !== sku) throw new EntitlementError('product_sku_mismatch', "the signed token's productSku differs from the file's");
    if (stringClaim(claims, 'licenseArn', 'LicenseArn') !== arn) throw new EntitlementError('license_arn_mismatch', "the signed token's licenseArn differs from the file's");
    checkIssuedAt(claims, now);
    verified = true;
  }
  return {
    valid: true, source: LICENSE_MANAGER, productSku: sku, licenseArn: arn,
    checkoutType: typeof record.checkoutType === 'string' ? record.checkoutType : null,
    entitlements: entitlements.map((e) => ({ name: e.name, unit: e.unit, value: e.value ?? null })),
    issuedAt: typeof record.issuedAt === 'string' ? record.issuedAt : null,
    expiration: new Date(expiration).toISOString(), stale, tokenVerified: verified,
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

/** The claims of a JWS whose algorithm is `alg` and whose signature verifies with `key` (RFC 7518 PSS: salt = hash length). */
function verifiedClaims(token, key, alg, now) {
  const parts = token.split('.');
  // Decoders ignore the unused low bits of a segment's last character: one token, several spellings.
  if (parts.length !== 3 || !parts.every((p) => /^[A-Za-z0-9_-]*$/.test(p) && Buffer.from(p, 'base64url').toString('base64url') === p)) {
    throw new EntitlementError('malformed', 'the token is not three canonical base64url segments');
  }
  const [header, payload, signature] = parts;
  const h = parseJson(Buffer.from(header, 'base64url'));
  if (!isObject(h)) throw new EntitlementError('malformed', "the token's header is not a JSON object");
  // Pinned before any cryptography: refuses none, RS256, and HS256 keyed with the public PEM.
  if (h.alg !== alg) throw new EntitlementError('algorithm', `the token is not signed with ${alg}: got ${JSON.stringify(h.alg)}`);
  const bits = alg === 'PS256' ? 256 : 384;
  let ok = false;
  try {
    ok = verifySignature(`sha${bits}`, Buffer.from(`${header}.${payload}`), { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: bits / 8 }, Buffer.from(signature, 'base64url'));
  } catch {
    ok = false; // e.g. a signature of the wrong length
  }
  if (!ok) throw new EntitlementError('signature', 'the signature does not verify with the key');
  const claims = parseJson(Buffer.from(payload, 'base64url'));
  if (!isObject(claims)) throw new EntitlementError('malformed', "the token's payload is not a JSON object");
  // Times as the package's verifier (jose) checks them: whole seconds, nbf and exp exactly, iat below.
  const whole = Math.floor(now.getTime() / 1000);
  for (const name of ['iat', 'nbf', 'exp']) {
    if (!Object.hasOwn(claims, name)) continue;
    if (typeof claims[name] !== 'number') throw new EntitlementError('claims_invalid', `the ${name} claim is not a number`);
    if (name === 'nbf' && claims.nbf > whole) throw new EntitlementError('expired', "the token's nbf lies in the future");
    if (name === 'exp' && claims.exp <= whole) throw new EntitlementError('expired', "the token's exp has passed");
  }
  return claims;
}

function checkIssuedAt(claims, now) {
  if (!Object.hasOwn(claims, 'iat')) return;
  const { iat } = claims;
  if (!(Math.abs(iat) <= 8.64e12)) throw new EntitlementError('claims_invalid', `iat ${iat} is not a representable time`);
  if (iat > now.getTime() / 1000 + MAX_SKEW_SECONDS) {
    throw new EntitlementError('issued_in_future', `the token was issued at ${new Date(iat * 1000).toISOString()}, more than ${MAX_SKEW_SECONDS} s ahead`);
  }
}

/** A claim under any of its spellings; two spellings with different values are refused. */
function stringClaim(claims, ...names) {
  const present = names.filter((n) => Object.hasOwn(claims, n)).map((n) => claims[n]);
  if (present.length === 0) throw new EntitlementError('claims_missing', `the token has no ${names[0]} claim`);
  if (present.some((v) => v !== present[0])) throw new EntitlementError('claims_conflict', `the token spells ${names[0]} twice with different values`);
  if (typeof present[0] !== 'string') throw new EntitlementError('claims_invalid', `the ${names[0]} claim is not a string`);
  return present[0];
}

function parseJson(bytes) {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new EntitlementError('malformed', 'the token is not JSON');
  }
}

const isObject = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);

const isEntitlements = (v) =>
  Array.isArray(v) && v.every((e) => isObject(e) && typeof e.name === 'string' && typeof e.unit === 'string' && (e.value === undefined || e.value === null || typeof e.value === 'string'));

/** Epoch milliseconds of an RFC 3339 time with a zone, or undefined. */
function instant(text) {
  if (typeof text !== 'string' || !RFC3339.test(text)) return undefined;
  const ms = Date.parse(text.toUpperCase());
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
