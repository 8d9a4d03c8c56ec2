import { OUTCOMES, type OutcomeCode, type Status } from '../entitlement/outcomes.js';

/** What `/healthz` serves and what observers (metrics, logs, Kubernetes status) are told about. */
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
  readonly entitlement?: {
    readonly productCode: string;
    readonly publicKeyVersion: number;
    readonly issuedAt: string | null;
    readonly verifiedAt: string;
    readonly entitlementFile: string;
  };
  /** Set when AWS says the public key version expired: the seller must ship a new key version. */
  readonly publicKeyRotationTimestamp?: string;
}

export type SnapshotInput = Omit<Snapshot, 'status' | 'action' | 'since'> & { readonly at?: Date };

export type Observer = (snapshot: Snapshot, previous: Snapshot) => void;

export class EntitlementState {
  #current: Snapshot;
  readonly #observers: Observer[] = [];

  constructor(now: Date = new Date()) {
    this.#current = {
      status: 'pending',
      code: 'REGISTERING',
      message: 'RegisterUsage has not answered yet',
      action: OUTCOMES.REGISTERING.action,
      since: now.toISOString(),
    };
  }

  get current(): Snapshot {
    return this.#current;
  }

  subscribe(observer: Observer): void {
    this.#observers.push(observer);
  }

  set(input: SnapshotInput): Snapshot {
    const { at, ...rest } = input;
    const previous = this.#current;
    const spec = OUTCOMES[input.code];
    this.#current = Object.freeze({ status: spec.status, ...rest, action: spec.action, since: (at ?? new Date()).toISOString() });
    for (const observe of this.#observers) observe(this.#current, previous);
    return this.#current;
  }
}
