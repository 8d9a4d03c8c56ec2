import type { Logger } from 'pino';
import type { AwsClients } from '../aws/clients.js';
import type { AttemptReport, RetryPolicy } from '../aws/retry.js';
import type { EntitlementRecord } from '../entitlement/file.js';
import type { EntitlementSummary, SnapshotInput } from '../entitlement/status.js';
import type { Now } from '../shared/time.js';
import type { Metrics } from './lazy-metrics.js';

/**
 * The seam between "how a pod becomes entitled" and everything around it (region, credentials, the
 * file, /healthz, metrics, Events, usage metering, shutdown). RegisterUsage (hourly products) and
 * License Manager (contract products) are its two implementations; the steps around them do not
 * change with the source.
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
  readonly env: NodeJS.ProcessEnv;
  readonly signal: AbortSignal;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly now: Now;
  /** The retry policy, its deadline what is left of ENTITLEMENT_REGISTER_DEADLINE. */
  readonly policy: RetryPolicy;
  /** Reports each attempt of the start-up call; a retry shows in /healthz and the log. */
  readonly onAttempt: (attempt: AttemptReport) => void;
  /** Marks the end of a start-up phase for the `startupMs` log field. */
  readonly mark: (phase: 'called' | 'verified') => void;
  /** Where the entitlement file is: a source may keep its own records next to it (License Manager's seat). */
  readonly entitlementFile: string;
  /** How often a watch looks whether something is due. */
  readonly watchTickMs: number;
}

/** A verified entitlement, as a source describes it. */
export interface Entitlement {
  /** The entitlement file's content. */
  readonly record: EntitlementRecord;
  /** What /healthz shows under `entitlement` (the file's path is added by the sidecar). */
  readonly summary: DistributiveOmit<EntitlementSummary, 'entitlementFile'>;
  /** The ENTITLED status message. */
  readonly message: string;
  readonly verifiedAt: Date;
  /** When AWS says the key version expired (RegisterUsage's PublicKeyRotationTimestamp). */
  readonly publicKeyRotation: Date | undefined;
  readonly attempts: number;
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** What a source's watch reports as the pod runs. */
export interface WatchEvents {
  /** Entitled (again, or with something new: a tier, a renewal). */
  entitled(entitlement: Entitlement): Promise<void>;
  /** The same entitlement with fresher details (an extended expiration): the file is rewritten, nobody is alerted. */
  refreshed(entitlement: Entitlement): Promise<void>;
  /** Still entitled on the last good license, which could not be confirmed (`why`), until `until`. */
  stale(entitlement: Entitlement, why: string, until: Date): Promise<void>;
  /** No longer entitled, for this reason. */
  lost(reason: SnapshotInput): Promise<void>;
}

/** A running watch; `stop` ends it and waits for a check in progress. */
export interface Watch {
  stop(): Promise<void>;
}

export interface EntitlementSource {
  /** The AWS call, for messages and the log: "RegisterUsage", "CheckoutLicense". */
  readonly call: string;
  /** The product as AWS knows it (product code, or SKU), for the denial record and the log. */
  readonly product: string;
  /**
   * Whether AWS gives this source's denials only once per pod/task (RegisterUsage's first-call rule):
   * then a denial is recorded on the volume and replayed by a restarted sidecar without calling AWS.
   */
  readonly recordsDenials: boolean;
  /** How long stopping may take beyond the probe server's own second (a check-in). */
  readonly stopBudgetMs: number;
  /** Calls AWS (retrying what is transient), verifies the answer, describes the entitlement. */
  acquire(ctx: SourceContext): Promise<Step<Entitlement>>;
  /**
   * While the pod runs: keeps the entitlement current from where start-up left it (`current`, or
   * undefined when start-up ended in an outcome the source checks again), reporting changes.
   */
  watch?(ctx: SourceContext, current: Entitlement | undefined, events: WatchEvents): Watch;
  /** At stop, before `deadline` (ms by `ctx.now`): gives back what `acquire` took. Never throws. */
  release?(ctx: SourceContext, deadline: number): Promise<void>;
  /**
   * When the new file cannot be written (a full volume at a restart): the verifiedAt of a file an
   * earlier run in this pod wrote, if it still verifies for this product; undefined otherwise.
   */
  earlierFile?(path: string, now: Date): Promise<string | undefined>;
}
