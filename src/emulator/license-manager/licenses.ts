/**
 * The licenses the emulator holds, every version of each, and how they look on the wire (the
 * model's License) and to tests (LicenseView). Putting a seed whose ARN exists makes a NEW version,
 * as an upgrade or renewal does on AWS; a status change is made in place. `reset()` goes back to the
 * licenses seeded at start.
 */
import type { LicenseEntitlement, LicenseRecord, LicenseStatus } from './seeds.js';

export class LicenseRegistry {
  private readonly seeded: readonly Omit<LicenseRecord, 'version'>[];
  /** ARN -> versions, oldest first; a Map keeps creation order, which is how "the most recent" is found. */
  private versions = new Map<string, LicenseRecord[]>();

  constructor(seeded: readonly Omit<LicenseRecord, 'version'>[]) {
    this.seeded = seeded;
    this.reset();
  }

  /** Creates the license, or a new version of it. */
  put(license: Omit<LicenseRecord, 'version'>): LicenseRecord {
    const history = this.versions.get(license.licenseArn) ?? [];
    const record: LicenseRecord = { ...license, version: history.length + 1 };
    history.push(record);
    this.versions.set(license.licenseArn, history);
    return record;
  }

  /** The current version, with its status changed in place; undefined for an unknown ARN. */
  setStatus(licenseArn: string, status: LicenseStatus): LicenseRecord | undefined {
    const history = this.versions.get(licenseArn);
    const current = history?.at(-1);
    if (history === undefined || current === undefined) return undefined;
    const changed = { ...current, status };
    history[history.length - 1] = changed;
    return changed;
  }

  current(licenseArn: string): LicenseRecord | undefined {
    return this.versions.get(licenseArn)?.at(-1);
  }

  /** A given version (1-based); undefined when there is no such version. */
  version(licenseArn: string, version: number): LicenseRecord | undefined {
    return this.versions.get(licenseArn)?.[version - 1];
  }

  /** The current version of every license, oldest license first. */
  all(): LicenseRecord[] {
    return [...this.versions.values()].map((h) => h.at(-1) as LicenseRecord);
  }

  reset(): void {
    this.versions = new Map();
    for (const license of this.seeded) this.put(license);
  }
}

/** Units of one entitlement taken by checkouts right now. */
export interface EntitlementUse {
  /** Held by PROVISIONAL checkouts that have neither expired nor been checked in. */
  readonly inUse: number;
  /** Spent for good by PERPETUAL checkouts. */
  readonly consumed: number;
}

export interface EntitlementView {
  readonly name: string;
  readonly unit: LicenseEntitlement['unit'];
  readonly maxCount: number | null;
  readonly value: string | null;
  readonly overage: boolean;
  readonly allowCheckIn: boolean;
  readonly inUse: number;
  readonly consumed: number;
  /** maxCount - inUse - consumed (never below 0); null without a pool. */
  readonly available: number | null;
}

/** A license as tests see it: its current version, with what is in use of each entitlement. */
export interface LicenseView extends Omit<LicenseRecord, 'entitlements'> {
  readonly entitlements: readonly EntitlementView[];
}

export function licenseView(license: LicenseRecord, use: (entitlement: string) => EntitlementUse): LicenseView {
  return {
    ...license,
    issuer: { ...license.issuer },
    validity: { ...license.validity },
    entitlements: license.entitlements.map((e) => {
      const { inUse, consumed } = use(e.name);
      return { ...e, inUse, consumed, available: e.maxCount === null ? null : Math.max(0, e.maxCount - inUse - consumed) };
    }),
  };
}

/** The model's License structure, in its member order; optional members left out when unset. */
export function wireLicense(license: LicenseRecord, o: { consumptionTtlMs: number; signKeyArn: string }): Record<string, unknown> {
  const issuer: Record<string, string> = { Name: license.issuer.name };
  if (license.signed) issuer['SignKey'] = o.signKeyArn;
  issuer['KeyFingerprint'] = license.issuer.keyFingerprint;
  const validity: Record<string, string> = { Begin: license.validity.begin };
  if (license.validity.end !== null) validity['End'] = license.validity.end;
  return {
    LicenseArn: license.licenseArn,
    LicenseName: license.productName ?? license.productSku,
    ...(license.productName === null ? {} : { ProductName: license.productName }),
    ProductSKU: license.productSku,
    Issuer: issuer,
    HomeRegion: license.homeRegion,
    Status: license.status,
    Validity: validity,
    Beneficiary: license.beneficiaryAccountId,
    Entitlements: license.entitlements.map((e) => ({
      Name: e.name,
      ...(e.value === null ? {} : { Value: e.value }),
      ...(e.maxCount === null ? {} : { MaxCount: e.maxCount }),
      Overage: e.overage,
      Unit: e.unit,
      AllowCheckIn: e.allowCheckIn,
    })),
    ConsumptionConfiguration: {
      RenewType: 'None',
      // The model counts whole minutes; a test's short TTL shows as the minute it falls in.
      ProvisionalConfiguration: { MaxTimeToLiveInMinutes: Math.ceil(o.consumptionTtlMs / 60_000) },
    },
    LicenseMetadata: [],
    CreateTime: license.createTime,
    Version: String(license.version),
  };
}
