/**
 * The license seed: how a test (or `--licenses FILE`, or `PUT /_emulator/licenses`) says which
 * license an account holds. One checker serves all three, so they accept and refuse the same input
 * with the same words; every problem is reported at once, each naming its field.
 *
 * What a seed can never do: give a license a buyer issued to themselves AWS Marketplace's key
 * fingerprint. The fingerprint is what makes a checkout mean "a license AWS Marketplace issued";
 * only `issuer: 'aws-marketplace'` has it.
 */
import { randomBytes } from 'node:crypto';
import { REGION_PATTERN } from '../../aws/region.js';
import { ENTITLEMENT_UNITS, type EntitlementUnit } from './shapes.js';

export const LICENSE_STATUSES = ['AVAILABLE', 'PENDING_AVAILABLE', 'DEACTIVATED', 'SUSPENDED', 'EXPIRED', 'PENDING_DELETE', 'DELETED'] as const;
export type LicenseStatus = (typeof LICENSE_STATUSES)[number];

/** AWS Marketplace as a license issuer: its account, its name and the fingerprint every buyer checks out with. */
export const MARKETPLACE_ACCOUNT = '294406891311';
export const MARKETPLACE_ISSUER = Object.freeze({
  name: 'AWS/Marketplace',
  keyFingerprint: `aws:${MARKETPLACE_ACCOUNT}:AWS/Marketplace:issuer-fingerprint`,
});

export interface LicenseEntitlementSeed {
  name: string;
  unit: EntitlementUnit;
  /** The pool: how many units there are (floating seats, a drawdown quantity). Absent = unlimited (or a tier, with unit None). */
  maxCount?: number;
  value?: string;
  /** Checkouts may take more than maxCount. */
  overage?: boolean;
  /** Checkouts of this entitlement may be checked in (default true). */
  allowCheckIn?: boolean;
}

export interface LicenseSeed {
  /** Default: a fresh arn:aws:license-manager::294406891311:license:l-<32 hex>. */
  licenseArn?: string;
  /** 12 digits: whose license it is. */
  beneficiaryAccountId: string;
  /** A UUID in practice. */
  productSku: string;
  productName?: string;
  /** Default aws-marketplace. */
  issuer?: 'aws-marketplace' | { name: string; keyFingerprint: string };
  /** Default: the emulator's region; another region makes CheckoutLicense answer RedirectException. */
  homeRegion?: string;
  /** Default AVAILABLE. */
  status?: LicenseStatus;
  /** ISO 8601; default begin = now, no end. */
  validity?: { begin: string; end?: string };
  entitlements: LicenseEntitlementSeed[];
  /** CheckoutLicense answers a SignedToken (PS384 JWT) from the emulator's issuer key. */
  signed?: boolean;
}

/** One version of a license, every default applied. */
export interface LicenseRecord {
  readonly licenseArn: string;
  readonly version: number;
  readonly beneficiaryAccountId: string;
  readonly productSku: string;
  readonly productName: string | null;
  readonly issuer: { readonly name: string; readonly keyFingerprint: string };
  readonly homeRegion: string;
  readonly status: LicenseStatus;
  readonly validity: { readonly begin: string; readonly end: string | null };
  readonly entitlements: readonly LicenseEntitlement[];
  readonly signed: boolean;
  /** When this version was put (ISO 8601, the emulator's clock). */
  readonly createTime: string;
}

export interface LicenseEntitlement {
  readonly name: string;
  readonly unit: EntitlementUnit;
  readonly maxCount: number | null;
  readonly value: string | null;
  readonly overage: boolean;
  readonly allowCheckIn: boolean;
}

const SEED_FIELDS = ['licenseArn', 'beneficiaryAccountId', 'productSku', 'productName', 'issuer', 'homeRegion', 'status', 'validity', 'entitlements', 'signed'] as const;
const ENTITLEMENT_FIELDS = ['name', 'unit', 'maxCount', 'value', 'overage', 'allowCheckIn'] as const;
/** The shape of the ARNs License Manager gives licenses. */
export const LICENSE_ARN = /^arn:aws:license-manager::\d{12}:license:l-[0-9a-f]{32}$/;
/** ISO 8601 with a time and a zone, as the model's ISO8601DateTime. */
const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const text = (v: unknown, max = 1024): v is string => typeof v === 'string' && v.length >= 1 && v.length <= max && v.trim() === v;
const instant = (v: unknown): v is string => typeof v === 'string' && ISO_8601.test(v) && !Number.isNaN(Date.parse(v));

function unknownFields(o: Record<string, unknown>, allowed: readonly string[], where: string): string[] {
  return Object.keys(o).filter((k) => !allowed.includes(k)).map((k) => `${where}${k} is not a field; allowed: ${allowed.join(', ')}`);
}

function entitlementProblems(e: unknown, where: string): string[] {
  if (!isObject(e)) return [`${where}must be an object with: ${ENTITLEMENT_FIELDS.join(', ')}`];
  const problems = unknownFields(e, ENTITLEMENT_FIELDS, where);
  if (!text(e['name'], 255)) problems.push(`${where}name must be 1-255 characters without surrounding spaces`);
  if (!(ENTITLEMENT_UNITS as readonly unknown[]).includes(e['unit'])) problems.push(`${where}unit must be one of: ${ENTITLEMENT_UNITS.join(', ')}`);
  const max = e['maxCount'];
  if (max !== undefined && !(typeof max === 'number' && Number.isSafeInteger(max) && max >= 1)) problems.push(`${where}maxCount must be an integer >= 1`);
  if (max !== undefined && e['unit'] === 'None') problems.push(`${where}maxCount makes no sense with unit None (a tier is had or not)`);
  if (e['value'] !== undefined && !text(e['value'])) problems.push(`${where}value must be 1-1024 characters`);
  for (const flag of ['overage', 'allowCheckIn'] as const) {
    if (e[flag] !== undefined && typeof e[flag] !== 'boolean') problems.push(`${where}${flag} must be true or false`);
  }
  return problems;
}

function issuerProblems(issuer: unknown): string[] {
  if (issuer === undefined || issuer === 'aws-marketplace') return [];
  const shape = "issuer must be 'aws-marketplace' or {name, keyFingerprint} (a license the buyer issued to themselves)";
  if (!isObject(issuer)) return [shape];
  const problems = unknownFields(issuer, ['name', 'keyFingerprint'], 'issuer.');
  if (!text(issuer['name'], 255)) problems.push('issuer.name must be 1-255 characters');
  if (!text(issuer['keyFingerprint'], 2048)) problems.push('issuer.keyFingerprint must be 1-2048 characters (AWS: aws:<issuer account>:<issuer name>:issuer-fingerprint)');
  // A buyer may name their issuer "AWS/Marketplace"; the fingerprint still carries their own account.
  if (issuer['keyFingerprint'] === MARKETPLACE_ISSUER.keyFingerprint) {
    problems.push(`issuer: only AWS Marketplace issues licenses with the fingerprint ${MARKETPLACE_ISSUER.keyFingerprint}; say issuer: 'aws-marketplace'`);
  }
  return problems;
}

/** Every problem with a seed from untrusted input, each naming its field (prefixed with `where`). */
export function licenseSeedProblems(seed: unknown, where = ''): string[] {
  if (!isObject(seed)) return [`${where}a license seed must be an object with: ${SEED_FIELDS.join(', ')}`];
  const at = (problem: string): string => `${where}${problem}`;
  const problems = unknownFields(seed, SEED_FIELDS, where);
  const arn = seed['licenseArn'];
  if (arn !== undefined && !(typeof arn === 'string' && LICENSE_ARN.test(arn))) problems.push(at('licenseArn must be arn:aws:license-manager::<12 digits>:license:l-<32 lowercase hex>'));
  if (!(typeof seed['beneficiaryAccountId'] === 'string' && /^\d{12}$/.test(seed['beneficiaryAccountId']))) problems.push(at('beneficiaryAccountId must be a 12-digit AWS account id'));
  if (!text(seed['productSku'])) problems.push(at('productSku must be 1-1024 characters without surrounding spaces (a UUID in practice)'));
  if (seed['productName'] !== undefined && !text(seed['productName'])) problems.push(at('productName must be 1-1024 characters'));
  problems.push(...issuerProblems(seed['issuer']).map(at));
  const region = seed['homeRegion'];
  if (region !== undefined && !(typeof region === 'string' && REGION_PATTERN.test(region))) problems.push(at('homeRegion must be an AWS region name such as us-east-1'));
  if (seed['status'] !== undefined && !(LICENSE_STATUSES as readonly unknown[]).includes(seed['status'])) problems.push(at(`status must be one of: ${LICENSE_STATUSES.join(', ')}`));
  const validity = seed['validity'];
  if (validity !== undefined) {
    if (!isObject(validity)) problems.push(at('validity must be {begin, end?} with ISO 8601 instants'));
    else {
      problems.push(...unknownFields(validity, ['begin', 'end'], `${where}validity.`));
      const { begin, end } = validity;
      if (!instant(begin)) problems.push(at('validity.begin must be an ISO 8601 instant with a zone, e.g. 2027-01-01T00:00:00Z'));
      if (end !== undefined && !instant(end)) problems.push(at('validity.end must be an ISO 8601 instant with a zone, e.g. 2028-01-01T00:00:00Z'));
      if (instant(begin) && instant(end) && Date.parse(end) <= Date.parse(begin)) problems.push(at('validity.end must be after validity.begin'));
    }
  }
  const entitlements = seed['entitlements'];
  if (!Array.isArray(entitlements) || entitlements.length === 0) problems.push(at('entitlements must be a non-empty list'));
  else {
    entitlements.forEach((e, i) => problems.push(...entitlementProblems(e, `${where}entitlements[${i}].`)));
    const names = entitlements.map((e: unknown) => (isObject(e) ? e['name'] : undefined));
    const twice = names.find((n, i) => typeof n === 'string' && names.indexOf(n) !== i);
    if (twice !== undefined) problems.push(at(`entitlements: the name ${JSON.stringify(twice)} is listed twice`));
  }
  if (seed['signed'] !== undefined && typeof seed['signed'] !== 'boolean') problems.push(at('signed must be true or false'));
  return problems;
}

/** A fresh license ARN of AWS Marketplace's account. */
export function newLicenseArn(): string {
  return `arn:aws:license-manager::${MARKETPLACE_ACCOUNT}:license:l-${randomBytes(16).toString('hex')}`;
}

/** A checked seed with every default applied; the version is the registry's to give. */
export function licenseFromSeed(seed: LicenseSeed, defaults: { region: string; now: Date }): Omit<LicenseRecord, 'version'> {
  const issuer = seed.issuer === undefined || seed.issuer === 'aws-marketplace' ? MARKETPLACE_ISSUER : seed.issuer;
  return {
    licenseArn: seed.licenseArn ?? newLicenseArn(),
    beneficiaryAccountId: seed.beneficiaryAccountId,
    productSku: seed.productSku,
    productName: seed.productName ?? null,
    issuer: { name: issuer.name, keyFingerprint: issuer.keyFingerprint },
    homeRegion: seed.homeRegion ?? defaults.region,
    status: seed.status ?? 'AVAILABLE',
    validity: {
      begin: new Date(seed.validity?.begin ?? defaults.now).toISOString(),
      end: seed.validity?.end === undefined ? null : new Date(seed.validity.end).toISOString(),
    },
    entitlements: seed.entitlements.map((e) => ({
      name: e.name,
      unit: e.unit,
      maxCount: e.maxCount ?? null,
      value: e.value ?? null,
      overage: e.overage ?? false,
      allowCheckIn: e.allowCheckIn ?? true,
    })),
    signed: seed.signed ?? false,
    createTime: defaults.now.toISOString(),
  };
}
