import { OUTCOMES } from '../entitlement/outcomes.js';
import type { Observer, Snapshot, SnapshotInput } from '../entitlement/status.js';
import type { Now } from '../shared/time.js';

export type { Observer, Snapshot, SnapshotInput } from '../entitlement/status.js';

/** The current answer and who is told when it changes. Times come from the sidecar's one clock. */
export class EntitlementState {
  #current: Snapshot;
  readonly #observers: Observer[] = [];
  readonly #now: Now;

  /** `call` names what the sidecar is waiting for (RegisterUsage, CheckoutLicense) in the first answer. */
  constructor(now: Now = Date.now, call = 'RegisterUsage') {
    this.#now = now;
    this.#current = {
      status: 'pending',
      code: 'REGISTERING',
      message: `${call} has not answered yet`,
      action: OUTCOMES.REGISTERING.action,
      since: new Date(now()).toISOString(),
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
    this.#current = Object.freeze({ status: spec.status, ...rest, action: spec.action, since: (at ?? new Date(this.#now())).toISOString() });
    for (const observe of this.#observers) observe(this.#current, previous);
    return this.#current;
  }

  /**
   * The same answer with fresher details (an extended license expiration), for /healthz only: the
   * observers (Events, the condition, metrics) are not told, since nothing they report changed.
   */
  refresh(entitlement: Snapshot['entitlement']): Snapshot {
    this.#current = Object.freeze({ ...this.#current, entitlement });
    return this.#current;
  }
}
