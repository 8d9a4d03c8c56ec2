import type { OutcomeCode, Status } from './outcomes.js';

/**
 * The sidecar's answer as `/healthz` serves it, and as its observers (metrics, logs, pod Events and the
 * readiness condition) are told about it. Part of the library: an app that asks `/healthz` reads this.
 */

/** What `/healthz` says about a verified entitlement: an hourly product's token. */
export interface RegisterUsageSummary {
  readonly source: 'register-usage';
  readonly productCode: string;
  readonly publicKeyVersion: number;
  readonly issuedAt: string | null;
  readonly verifiedAt: string;
  readonly entitlementFile: string;
}

/** ... or a contract product's license: its tier or quantity, and how fresh the check is. */
export interface LicenseSummary {
  readonly source: 'license-manager';
  readonly productSku: string;
  readonly licenseArn: string;
  readonly checkoutType: 'PROVISIONAL' | 'PERPETUAL';
  readonly entitlements: readonly { readonly name: string; readonly unit: string; readonly value: string | null }[];
  readonly issuedAt: string;
  readonly expiration: string;
  readonly checkedAt: string;
  readonly stale: boolean;
  readonly signedTokenVerified: boolean;
  readonly entitlementFile: string;
}

export type EntitlementSummary = RegisterUsageSummary | LicenseSummary;

export interface Snapshot {
  readonly status: Status;
  readonly code: OutcomeCode;
  /** What happened. */
  readonly message: string;
  /** What the operator should do. */
  readonly action: string;
  readonly since: string;
  /** True when the answer comes from a denial recorded by an earlier run in this pod/task. */
  readonly sticky?: boolean;
  /** The AWS error name, when AWS answered with one. */
  readonly awsError?: string;
  readonly entitlement?: EntitlementSummary;
  /** Set when AWS says the public key version expired: the seller must ship a new key version. */
  readonly publicKeyRotationTimestamp?: string;
}

/** A status change as the code that decides it describes it; status, action and since follow from the code and the clock. */
export type SnapshotInput = Omit<Snapshot, 'status' | 'action' | 'since'> & { readonly at?: Date };

export type Observer = (snapshot: Snapshot, previous: Snapshot) => void;
