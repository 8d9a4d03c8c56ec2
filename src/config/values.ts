import { randomBytes } from 'node:crypto';
import { closeSync, openSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { CHECKOUT_TYPES, LICENSE_UNITS, type CheckoutType, type LicenseUnit } from '../aws/license-manager-model.js';
import { AWS_MARKETPLACE_KEY_FINGERPRINT } from '../entitlement/license-constants.js';
import { parseProductPublicKey, PublicKeyError, type ProductPublicKey } from '../entitlement/public-key.js';
import { FileRefusedError, fileErrorCode, readRegularFileSync } from '../shared/regular-file.js';
import { SettingProblem } from './flags.js';
import { integer, oneOf, parseList } from './parse.js';

/**
 * The sidecar's own kinds of value (product codes and SKUs, dimensions, license entitlements, the
 * product's key), each a parser that names the setting and what is allowed, plus the checks of the
 * volume and of key files. settings.ts puts them in the table.
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

export function productCode(value: string, name: string): string {
  if (!PRODUCT_CODE_PATTERN.test(value)) throw new SettingProblem(`${name} must be 1-255 characters of [-a-zA-Z0-9/=:_.@]`);
  return value;
}

export function productCodes(value: string, name: string): string[] {
  const codes = parseList(value);
  if (codes.length === 0 || codes.some((c) => !PRODUCT_CODE_PATTERN.test(c))) {
    throw new SettingProblem(`${name} must be a comma-separated list of product codes of [-a-zA-Z0-9/=:_.@]`);
  }
  return codes;
}

export function keyVersion(value: string, name: string): number {
  return integer(1, 2 ** 31 - 1, 'an integer >= 1')(value, name);
}

export function absoluteFile(value: string, name: string): string {
  if (!value.startsWith('/') || value.endsWith('/')) throw new SettingProblem(`${name} must be an absolute file path, got "${value}"`);
  return value;
}

export function dimensions(value: string, name: string): string[] {
  const list = parseList(value);
  if (list.length === 0 || list.length > MAX_USAGE_DIMENSIONS || list.some((d) => !USAGE_DIMENSION_PATTERN.test(d))) {
    throw new SettingProblem(`${name} must be a comma-separated list of 1 to ${MAX_USAGE_DIMENSIONS} dimension names of 1-255 characters without spaces`);
  }
  if (new Set(list).size !== list.length) throw new SettingProblem(`${name} lists a dimension twice`);
  return list;
}

/** The product ID (SKU) of a contract product, from the Marketplace Management Portal: a UUID. */
export const PRODUCT_SKU_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function productSku(value: string, name: string): string {
  if (!PRODUCT_SKU_PATTERN.test(value)) throw new SettingProblem(`${name} must be the product ID (a UUID such as 6b4f0d5e-1c2a-4e8f-9d3b-7a6c5e4d3b2a) from the AWS Marketplace Management Portal, got "${value}"`);
  return value.toLowerCase();
}

export function productSkus(value: string, name: string): string[] {
  const skus = parseList(value);
  if (skus.length === 0 || skus.some((s) => !PRODUCT_SKU_PATTERN.test(s))) throw new SettingProblem(`${name} must be a comma-separated list of product IDs (UUIDs)`);
  return skus.map((s) => s.toLowerCase());
}

/** An entitlement to ask License Manager for: name, unit as License Manager defines them, optional value. */
export interface LicenseEntitlement {
  readonly name: string;
  readonly unit: LicenseUnit;
  readonly value: string | undefined;
}

/** `Name:Unit` or `Name:Unit:Value`, comma-separated (`BasicTier:None,PremiumTier:None`, `Nodes:Count:1`). */
export function licenseEntitlements(value: string, name: string): LicenseEntitlement[] {
  const items = parseList(value);
  const problems: string[] = [];
  const out: LicenseEntitlement[] = [];
  for (const item of items) {
    // A unit may hold a slash (Bits/Second), never a colon: split on the first and last colon.
    const first = item.indexOf(':');
    const parts = first === -1 ? [item] : [item.slice(0, first), ...item.slice(first + 1).split(':')];
    const [entitlement = '', unit = '', amount, ...extra] = parts;
    if (entitlement === '' || !/^[\x21-\x7e]{1,255}$/.test(entitlement) || extra.length > 0) {
      problems.push(`"${item}" is not Name:Unit or Name:Unit:Value`);
    } else if (!(LICENSE_UNITS as readonly string[]).includes(unit)) {
      problems.push(`"${item}" has the unit "${unit}"; License Manager's units are ${LICENSE_UNITS.join(', ')} (a tier is None, a seat or node Count)`);
    } else if (amount !== undefined && !/^\d{1,15}$/.test(amount)) {
      problems.push(`"${item}" has the value "${amount}"; a value is a whole number`);
    } else out.push({ name: entitlement, unit: unit as LicenseUnit, value: amount });
  }
  if (items.length === 0) problems.push('it is empty');
  if (new Set(out.map((e) => e.name)).size !== out.length) problems.push('it names an entitlement twice');
  if (problems.length > 0) {
    throw new SettingProblem(`${name} must be a comma-separated list of Name:Unit or Name:Unit:Value (e.g. BasicTier:None,PremiumTier:None or Nodes:Count:1): ${problems.join('; ')}`);
  }
  return out;
}

export const checkoutType: (value: string, name: string) => CheckoutType = oneOf(CHECKOUT_TYPES);

/** The fingerprint every check is pinned to; shown in logs, never configurable. */
export { AWS_MARKETPLACE_KEY_FINGERPRINT };

export function checkWritableDirectory(dir: string): string | undefined {
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
export function readPublicKeyText(
  keyFile: string | undefined,
  keyText: string | undefined,
  setting = 'MARKETPLACE_PUBLIC_KEY',
  what = "the product's public key PEM",
): { pem: string } | { problem: string } {
  if (keyFile === undefined) {
    const pem = keyText ?? '';
    if (Buffer.byteLength(pem) > MAX_PUBLIC_KEY_BYTES) {
      return { problem: `${setting} is ${Buffer.byteLength(pem)} bytes; a PEM public key is at most ${MAX_PUBLIC_KEY_BYTES}` };
    }
    return { pem };
  }
  try {
    return { pem: readRegularFileSync(keyFile, MAX_PUBLIC_KEY_BYTES, { followSymlinks: true }).toString('utf8') };
  } catch (err) {
    if (err instanceof FileRefusedError) {
      const why = err.reason === 'too-large' ? `is larger than ${MAX_PUBLIC_KEY_BYTES} bytes, far more than a PEM public key` : err.message.slice(keyFile.length + 1);
      return { problem: `${setting}_FILE ${keyFile} ${why}; give the path of ${what}` };
    }
    return { problem: `${setting}_FILE ${keyFile} cannot be read (${fileErrorCode(err)})` };
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

/** The key that verifies a license's SignedToken (PS384), when the seller's issuer signs licenses. */
export function licensePublicKey(keyFile: string | undefined, keyText: string | undefined, problems: string[]): { key: ProductPublicKey; source: string } | undefined {
  if (keyFile === undefined && keyText === undefined) return undefined;
  if (keyFile !== undefined && keyText !== undefined) {
    problems.push('MARKETPLACE_LICENSE_PUBLIC_KEY_FILE and MARKETPLACE_LICENSE_PUBLIC_KEY are both set; set at most one');
    return undefined;
  }
  const read = readPublicKeyText(keyFile, keyText, 'MARKETPLACE_LICENSE_PUBLIC_KEY', "the license issuer's public key PEM");
  if ('problem' in read) {
    problems.push(read.problem);
    return undefined;
  }
  try {
    return { key: parseProductPublicKey(read.pem), source: keyFile ?? 'MARKETPLACE_LICENSE_PUBLIC_KEY' };
  } catch (err) {
    if (!(err instanceof PublicKeyError)) throw err;
    problems.push(`${keyFile !== undefined ? 'MARKETPLACE_LICENSE_PUBLIC_KEY_FILE' : 'MARKETPLACE_LICENSE_PUBLIC_KEY'} ${err.message}`);
    return undefined;
  }
}
