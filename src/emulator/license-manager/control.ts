/**
 * What a test does to License Manager's state, for both the programmatic API (index.ts) and the
 * admin endpoints (admin.ts), so both accept, refuse and answer alike: put a license (or a new
 * version of one), change its status, list licenses and checkouts.
 */
import type { EmulatorStore } from '../state.js';
import type { ConsumptionView } from './consumptions.js';
import { licenseView, type LicenseView } from './licenses.js';
import { LICENSE_STATUSES, licenseFromSeed, licenseSeedProblems, type LicenseRecord, type LicenseSeed, type LicenseStatus } from './seeds.js';

export type ControlResult<T> = { ok: true; value: T } | { ok: false; notFound: boolean; problems: string[] };

const refused = (problems: string[], notFound = false): { ok: false; notFound: boolean; problems: string[] } => ({ ok: false, notFound, problems });

/** Seeds from the start options (or a file) as license versions, in order; a repeated ARN is a later version. */
export function seededLicenses(seeds: readonly unknown[], o: { region: string; now: Date }): ControlResult<Omit<LicenseRecord, 'version'>[]> {
  const problems = seeds.flatMap((seed, i) => licenseSeedProblems(seed, `licenses[${i}].`));
  if (problems.length > 0) return refused(problems);
  const records = (seeds as LicenseSeed[]).map((seed) => licenseFromSeed(seed, o));
  const owner = new Map<string, string>();
  records.forEach((r, i) => {
    const first = owner.get(r.licenseArn);
    if (first !== undefined && first !== r.beneficiaryAccountId) problems.push(`licenses[${i}]: ${r.licenseArn} is account ${first}'s license; a new version cannot change its beneficiaryAccountId`);
    owner.set(r.licenseArn, first ?? r.beneficiaryAccountId);
  });
  return problems.length > 0 ? refused(problems) : { ok: true, value: records };
}

export class LicenseControl {
  private readonly store: EmulatorStore;
  private readonly region: string;
  private readonly now: () => Date;

  constructor(store: EmulatorStore, region: string, now: () => Date) {
    this.store = store;
    this.region = region;
    this.now = now;
  }

  private view(license: LicenseRecord): LicenseView {
    const at = this.now().getTime();
    return licenseView(license, (entitlement) => this.store.consumptions.use(license.licenseArn, entitlement, at));
  }

  /** Creates the license, or replaces it as a new version (an upgrade or renewal). */
  put(seed: unknown): ControlResult<LicenseView> {
    const problems = licenseSeedProblems(seed);
    if (problems.length > 0) return refused(problems);
    const record = licenseFromSeed(seed as LicenseSeed, { region: this.region, now: this.now() });
    const existing = this.store.licenses.current(record.licenseArn);
    if (existing !== undefined && existing.beneficiaryAccountId !== record.beneficiaryAccountId) {
      return refused([`${record.licenseArn} is account ${existing.beneficiaryAccountId}'s license; a new version cannot change its beneficiaryAccountId`]);
    }
    return { ok: true, value: this.view(this.store.licenses.put(record)) };
  }

  setStatus(licenseArn: unknown, status: unknown): ControlResult<LicenseView> {
    const problems: string[] = [];
    if (typeof licenseArn !== 'string') problems.push('licenseArn must be a license ARN');
    if (!(LICENSE_STATUSES as readonly unknown[]).includes(status)) problems.push(`status must be one of: ${LICENSE_STATUSES.join(', ')}`);
    if (problems.length > 0) return refused(problems);
    const changed = this.store.licenses.setStatus(licenseArn as string, status as LicenseStatus);
    return changed === undefined ? refused([`no license ${String(licenseArn)}`], true) : { ok: true, value: this.view(changed) };
  }

  licenses(): LicenseView[] {
    return this.store.licenses.all().map((l) => this.view(l));
  }

  consumptions(): ConsumptionView[] {
    return this.store.consumptions.views(this.now().getTime());
  }
}
