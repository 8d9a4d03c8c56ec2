/**
 * The IAM roles AssumeRoleWithWebIdentity may assume, and only what matters of their trust policy for
 * Containers Anywhere: whether it trusts the federated principal `openid-license-manager.amazonaws.com`,
 * under the condition `openid-license-manager.amazonaws.com:amr` =
 * `aws:license-manager:token-issuer-account-id:<issuerAccountId>` (AWS's sample's consumption role).
 */
import { createHash } from 'node:crypto';

export interface RoleSpec {
  roleArn: string;
  /** The trust policy allows sts:AssumeRoleWithWebIdentity for openid-license-manager.amazonaws.com. */
  trustsLicenseManager: boolean;
  /** The account its amr condition names: whose license tokens may assume it. */
  issuerAccountId: string;
  /** IAM's MaxSessionDuration (default 3600, IAM's; 3600 to 43200). */
  maxSessionDurationSeconds?: number;
}

export interface RoleView {
  readonly roleArn: string;
  /** IAM's unique id of the role (AROA...), part of AssumedRoleId. */
  readonly roleId: string;
  readonly trustsLicenseManager: boolean;
  readonly issuerAccountId: string;
  readonly maxSessionDurationSeconds: number;
}

export const ROLE_ARN = /^arn:aws:iam::(\d{12}):role\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]{1,64})$/;
const FIELDS = ['roleArn', 'trustsLicenseManager', 'issuerAccountId', 'maxSessionDurationSeconds'] as const;

export function roleProblems(input: unknown, where = ''): string[] {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return [`${where}a role must be an object with: ${FIELDS.join(', ')}`];
  const o = input as Record<string, unknown>;
  const problems = Object.keys(o).filter((k) => !(FIELDS as readonly string[]).includes(k)).map((k) => `${where}${k} is not a field; allowed: ${FIELDS.join(', ')}`);
  if (!(typeof o['roleArn'] === 'string' && ROLE_ARN.test(o['roleArn']))) problems.push(`${where}roleArn must be an IAM role ARN, arn:aws:iam::<12 digits>:role/<name>`);
  if (typeof o['trustsLicenseManager'] !== 'boolean') problems.push(`${where}trustsLicenseManager must be true or false`);
  if (!(typeof o['issuerAccountId'] === 'string' && /^\d{12}$/.test(o['issuerAccountId']))) problems.push(`${where}issuerAccountId must be a 12-digit AWS account id`);
  const max = o['maxSessionDurationSeconds'];
  if (max !== undefined && !(typeof max === 'number' && Number.isSafeInteger(max) && max >= 3600 && max <= 43200)) problems.push(`${where}maxSessionDurationSeconds must be an integer from 3600 to 43200 (IAM's range)`);
  return problems;
}

/** A stable AROA id per role ARN, 21 characters as IAM's are. */
function roleId(roleArn: string): string {
  const digest = createHash('sha256').update(roleArn).digest();
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  return `AROA${[...digest.subarray(0, 17)].map((b) => alphabet[b % 32]).join('')}`;
}

export function roleView(spec: RoleSpec): RoleView {
  return {
    roleArn: spec.roleArn,
    roleId: roleId(spec.roleArn),
    trustsLicenseManager: spec.trustsLicenseManager,
    issuerAccountId: spec.issuerAccountId,
    maxSessionDurationSeconds: spec.maxSessionDurationSeconds ?? 3600,
  };
}

export class RoleRegistry {
  private readonly seeded: readonly RoleView[];
  private roles = new Map<string, RoleView>();

  constructor(seeded: readonly RoleView[]) {
    this.seeded = seeded;
    this.reset();
  }

  /** Creates or replaces a role (an already checked spec). */
  put(spec: RoleSpec): RoleView {
    const role = roleView(spec);
    this.roles.set(role.roleArn, role);
    return role;
  }

  get(roleArn: string): RoleView | undefined {
    return this.roles.get(roleArn);
  }

  all(): RoleView[] {
    return [...this.roles.values()];
  }

  reset(): void {
    this.roles = new Map(this.seeded.map((r) => [r.roleArn, r]));
  }
}
