import type { Logger } from 'pino';
import type { AwsClients } from '../aws/clients.js';
import type { AttemptReport, RetryPolicy } from '../aws/retry.js';
import type { EntitlementRecord } from '../entitlement/file.js';
import type { EntitlementSummary, SnapshotInput } from '../entitlement/status.js';
import type { Now } from '../shared/time.js';

/**
 * The seam between "how a pod becomes entitled" and everything around it (region, credentials, the
 * file, /healthz, metrics, Events, usage metering, shutdown). RegisterUsage (hourly products) is one
 * implementation; a second one (License Manager, for contract products) plugs in here without touching
 * the steps around it.
 */

/** What a start-up step ends with: a value to go on with, an outcome that ends start-up, or a stop. */
export type Step<T> = Ok<T> | Outcome | Aborted;
export interface Ok<T> {
  readonly kind: 'ok';
  readonly value: T;
}
export interface Outcome {
  readonly kind: 'outcome';
  readonly outcome: SnapshotInput;
}
export interface Aborted {
  readonly kind: 'aborted';
}

export const ok = <T>(value: T): Ok<T> => ({ kind: 'ok', value });
export const outcome = (o: SnapshotInput): Outcome => ({ kind: 'outcome', outcome: o });
export const aborted: Aborted = { kind: 'aborted' };


/** What a source may use while it acquires or keeps the entitlement. */
export interface SourceContext {
  readonly region: string;
  readonly aws: AwsClients;
  readonly signal: AbortSignal;
  readonly logger: Logger;
  readonly now: Now;
  /** The retry policy, its deadline what is left of ENTITLEMENT_REGISTER_DEADLINE. */
  readonly policy: RetryPolicy;
  /** Reports each attempt; the sidecar counts it and shows a retry in /healthz. */
  readonly onAttempt: (attempt: AttemptReport) => void;
  /** Marks the end of a start-up phase for the `startupMs` log field. */
  readonly mark: (phase: 'called' | 'verified') => void;
}

/** A verified entitlement, as a source describes it. */
export interface Entitlement {
  /** The entitlement file's content. */
  readonly record: EntitlementRecord;
  /** What /healthz shows under `entitlement` (the file's path is added by the sidecar). */
  readonly summary: Omit<EntitlementSummary, 'entitlementFile'>;
  /** The ENTITLED status message. */
  readonly message: string;
  readonly verifiedAt: Date;
  /** When AWS says the key version expired (RegisterUsage's PublicKeyRotationTimestamp). */
  readonly publicKeyRotation: Date | undefined;
  readonly attempts: number;
}

export interface EntitlementSource {
  /** The AWS call, for messages and the log: "RegisterUsage". */
  readonly call: string;
  /**
   * Whether AWS gives this source's denials only once per pod/task (RegisterUsage's first-call rule):
   * then a denial is recorded on the volume and replayed by a restarted sidecar without calling AWS.
   */
  readonly recordsDenials: boolean;
  /** Calls AWS (retrying what is transient), verifies the answer, describes the entitlement. */
  acquire(ctx: SourceContext): Promise<Step<Entitlement>>;
  /** While the pod runs: keeps the entitlement current, calling `update` on a change; returns when `ctx.signal` aborts. */
  renew?(ctx: SourceContext, current: Entitlement, update: (next: Step<Entitlement>) => Promise<void>): Promise<void>;
  /** At stop, before `deadline` (ms): gives back what `acquire` took. */
  release?(ctx: SourceContext, deadline: number): Promise<void>;
}
