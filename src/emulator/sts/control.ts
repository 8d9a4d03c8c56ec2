/**
 * What a test does for Containers Anywhere, for both the programmatic API (index.ts) and the admin
 * endpoints (admin.ts): issue and revoke license tokens (CreateToken and DeleteToken on AWS, done by
 * the buyer), and define the roles AssumeRoleWithWebIdentity may assume.
 */
import type { ControlResult } from '../license-manager/control.js';
import { licenseTokenRequestProblems, type IssuedLicenseToken, type LicenseTokenRequest } from '../license-manager/license-tokens.js';
import type { EmulatorStore } from '../state.js';
import { roleProblems, type RoleSpec, type RoleView } from './roles.js';

const refused = (problems: string[], notFound = false): { ok: false; notFound: boolean; problems: string[] } => ({ ok: false, notFound, problems });

export class AnywhereControl {
  private readonly store: EmulatorStore;
  private readonly now: () => Date;

  constructor(store: EmulatorStore, now: () => Date) {
    this.store = store;
    this.now = now;
  }

  issueLicenseToken(request: unknown): ControlResult<IssuedLicenseToken> {
    const problems = licenseTokenRequestProblems(request);
    return problems.length > 0 ? refused(problems) : { ok: true, value: this.store.licenseTokens.issue(request as LicenseTokenRequest, this.now()) };
  }

  revokeLicenseToken(licenseToken: unknown): ControlResult<{ revoked: true }> {
    if (typeof licenseToken !== 'string') return refused(['licenseToken must be a license token the emulator issued']);
    return this.store.licenseTokens.revoke(licenseToken) ? { ok: true, value: { revoked: true } } : refused(['licenseToken is not a license token this emulator issued'], true);
  }

  putRole(role: unknown): ControlResult<RoleView> {
    const problems = roleProblems(role);
    return problems.length > 0 ? refused(problems) : { ok: true, value: this.store.roles.put(role as RoleSpec) };
  }

  roles(): RoleView[] {
    return this.store.roles.all();
  }
}
