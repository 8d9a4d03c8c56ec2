import { MeterUsageCommand, type MarketplaceMeteringClient } from '@aws-sdk/client-marketplace-metering';
import type { Logger } from 'pino';
import { randomUUID } from 'node:crypto';
import { HOUR_MS, startOfHour } from '../shared/time.js';
import { backoffDelayMs, type Backoff } from '../aws/retry.js';
import type { JournalLine, RecordResult, UsageLedger, UsageRecord } from './ledger.js';
import type { UsageJournal } from './journal.js';
import type { UsageMetrics } from './metrics.js';
import { judge, type Verdict } from './verdict.js';

/**
 * Sends each closed hour's records with MeterUsage, minutes after the hour ends, and settles them:
 * - sent: AWS answered with a MeteringRecordId (a resend of the same frozen record, with the same
 *   ClientToken, is answered idempotently with the original id);
 * - carried: AWS refused it without recording it (DuplicateRequestException: another record already
 *   holds that hour; TimestampOutOfBoundsException; any other refusal) and no attempt's outcome is
 *   unknown: its usage goes into the next hour's record;
 * - unreconciled: refused after an attempt whose outcome is unknown (a timeout, a 5xx, a reset): AWS may
 *   hold it, so it is neither resent nor carried; it is logged and counted for the seller to reconcile.
 * Throttling, server and network errors are retried with backoff, the same record each time.
 *
 * On a full or failing volume: a record is sent only once its line is durable (a restarted sidecar
 * must resend exactly it, never make another for the same usage). A result AWS gave is kept in
 * memory when the journal cannot take it, and written first once it can; meanwhile that record is
 * not attempted again. Were the sidecar restarted before, the journal still holds the record
 * unsettled and it is resent with its ClientToken: AWS answers a sent one idempotently with its
 * MeteringRecordId, and refuses a carried one again, so either way it is counted once.
 */

export interface ForwarderOptions {
  readonly ledger: UsageLedger;
  readonly journal: UsageJournal;
  readonly client: Pick<MarketplaceMeteringClient, 'send'>;
  readonly productCode: string;
  readonly logger: Logger;
  readonly metrics: UsageMetrics;
  readonly now: () => number;
  readonly random?: () => number;
  readonly backoff: { readonly throttled: Backoff; readonly transient: Backoff };
  readonly attemptTimeoutMs: number;
  /** How long after an hour closes its records are sent. */
  readonly sendDelayMs: number;
  /** Tells the operator where it shows (a pod Event) when usage was carried forward or left unreconciled. */
  readonly onEvent?: (event: { reason: string; type: 'Warning'; message: string }) => void;
}

/** What a shutdown leaves behind. */
export interface ForwarderSummary {
  /** Units AWS has not recorded, per dimension (only dimensions with some). */
  readonly unsentUnits: Readonly<Record<string, number>>;
  /** Records made but not settled (the journal holds them for a restarted sidecar). */
  readonly unsettledRecords: number;
  /** Results AWS gave that the journal could not take. */
  readonly unjournaledResults: number;
}

export class UsageForwarder {
  readonly #o: ForwarderOptions;
  readonly #retry = new Map<string, { failures: number; notBefore: number }>();
  #ticking: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** Result lines (`x`, `r`) the journal has not taken yet, in order; written before anything else. */
  #owed: JournalLine[] = [];
  /** Records whose result is among them: never attempted again. */
  readonly #owedResults = new Map<string, RecordResult>();
  /** Why the last plan could not be journaled, to log only changes. */
  #planFailure: string | undefined;
  /** Some result waited for the journal: say so once it is written. */
  #owedLate = false;

  constructor(options: ForwarderOptions) {
    this.#o = options;
  }

  /** The latest hour whose records are due: closed at least `sendDelayMs` ago. */
  dueHour(): number {
    return startOfHour(this.#o.now() - this.#o.sendDelayMs) - HOUR_MS;
  }

  /** Plans the due hour's records and makes one pass over every unsettled record whose backoff is over. */
  tick(): Promise<void> {
    this.#ticking ??= this.#pass(this.dueHour()).finally(() => (this.#ticking = undefined));
    return this.#ticking;
  }

  start(intervalMs = 1000): void {
    this.#timer = setInterval(() => {
      this.tick().catch((err: unknown) => this.#o.logger.error({ err }, 'usage forwarding pass failed'));
    }, intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /**
   * At shutdown: the pod's current hour is final, so its records are made now and everything unsettled
   * is sent, retrying until the deadline (ms, by the injected clock). Never throws; returns what is left.
   */
  async drain(deadline: number, wait: (ms: number) => Promise<void>): Promise<ForwarderSummary> {
    this.stop();
    while (this.#ticking !== undefined) await this.#ticking.catch(() => undefined);
    const hour = startOfHour(this.#o.now());
    for (;;) {
      try {
        await this.#pass(hour, true);
      } catch (err) {
        this.#o.logger.error({ err }, 'usage forwarding pass failed at shutdown');
        break;
      }
      const left = this.#sendable();
      if (left.length === 0) break;
      const nextTry = Math.min(...left.map((r) => this.#retry.get(r.token)?.notBefore ?? 0));
      if (Math.max(nextTry, this.#o.now()) >= deadline) break;
      await wait(Math.max(0, nextTry - this.#o.now()));
    }
    return this.summary();
  }

  /** Units AWS has not recorded (pending, in unsettled records, in records AWS refused whose result is not journaled), and the rest. */
  summary(): ForwarderSummary {
    const { ledger } = this.#o;
    const units = ledger.pendingUnits();
    const decided = this.#decided();
    for (const r of ledger.unsettled()) if (!decided.has(r.token)) units.set(r.dimension, (units.get(r.dimension) ?? 0) + r.quantity);
    return {
      unsentUnits: Object.fromEntries([...units].filter(([, q]) => q > 0)),
      unsettledRecords: this.#sendable().length,
      unjournaledResults: this.#owedResults.size,
    };
  }

  /** Records AWS answered as sent or unreconciled whose result the journal has not taken yet: not unsent units. */
  #decided(): Set<string> {
    return new Set([...this.#owedResults].filter(([, st]) => st !== 'carried').map(([tok]) => tok));
  }

  /** Unsettled records that may be attempted: their result is not merely waiting for the journal. */
  #sendable(): UsageRecord[] {
    return this.#o.ledger.unsettled().filter((r) => !this.#owedResults.has(r.token));
  }

  async #pass(hour: number, final = false): Promise<void> {
    const { ledger, journal, metrics } = this.#o;
    await this.#payOwed();
    await this.#compactIfDue();
    if (this.#owed.length === 0) await this.#plan(hour, final);
    for (const r of this.#sendable()) {
      const state = this.#retry.get(r.token);
      if (state !== undefined && state.notBefore > this.#o.now()) continue;
      await this.#attempt(r);
    }
    metrics.refreshPending(ledger, this.#decided());
    await this.#compactIfDue();
    metrics.journalBytes.set(journal.size);
  }

  /** Makes the hour's records and journals them (through a compaction if they do not fit); a record is sent only once its line is durable. */
  async #plan(hour: number, final: boolean): Promise<void> {
    const { ledger, journal, logger } = this.#o;
    const planned = ledger.plan(hour, randomUUID);
    if (planned.length === 0) return;
    try {
      await journal.write(planned, this.#o.now());
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      if (code !== this.#planFailure) {
        logger.warn(
          { err, hour: new Date(hour).toISOString(), records: planned.length },
          "usage records could not be journaled, so they are not sent yet (a record is sent only once a restarted sidecar would find it); their units stay pending and are tried again",
        );
      }
      this.#planFailure = code;
      return;
    }
    this.#planFailure = undefined;
    for (const line of planned) {
      if (line.k !== 's') continue;
      const r = ledger.record(line.tok) as UsageRecord;
      logger.info(
        { dimension: r.dimension, hour: new Date(r.hour).toISOString(), quantity: r.quantity, allocations: r.allocations.length, final },
        'usage record made',
      );
    }
  }

  /** Journals result lines (queued first, in order); what the journal cannot take stays queued. */
  async #journalResults(lines: readonly JournalLine[]): Promise<void> {
    this.#owed.push(...lines);
    for (const l of lines) if (l.k === 'r') this.#owedResults.set(l.tok, l.st);
    await this.#payOwed();
  }

  async #payOwed(): Promise<void> {
    if (this.#owed.length === 0) return;
    const lines = this.#owed;
    try {
      await this.#o.journal.write(lines, this.#o.now());
    } catch {
      // The journal logs why; the lines stay queued and their records are not attempted again.
      this.#owedLate = true;
      return;
    }
    this.#owed = this.#owed.slice(lines.length);
    for (const l of lines) if (l.k === 'r') this.#owedResults.delete(l.tok);
    if (this.#owedLate) this.#o.logger.info({ lines: lines.length }, 'usage results held in memory are journaled now');
    this.#owedLate = false;
  }

  async #compactIfDue(): Promise<void> {
    const { journal, logger } = this.#o;
    const now = this.#o.now();
    if (!journal.compactionDue(now)) return;
    try {
      await journal.compact(now);
    } catch (err) {
      logger.warn({ err }, 'usage journal compaction failed');
    }
  }

  async #attempt(r: UsageRecord): Promise<void> {
    const { client, metrics, logger } = this.#o;
    const tagged = r.allocations.some((a) => a.tags !== undefined) || r.allocations.length > 1;
    const command = new MeterUsageCommand({
      ProductCode: this.#o.productCode,
      Timestamp: new Date(r.hour),
      UsageDimension: r.dimension,
      UsageQuantity: r.quantity,
      ClientToken: r.token,
      ...(tagged
        ? {
            UsageAllocations: r.allocations.map((a) => ({
              AllocatedUsageQuantity: a.quantity,
              ...(a.tags === undefined ? {} : { Tags: Object.entries(a.tags).map(([Key, Value]) => ({ Key, Value })) }),
            })),
          }
        : {}),
    });
    const timeout = AbortSignal.timeout(this.#o.attemptTimeoutMs);
    let verdict: Verdict;
    try {
      const out = await client.send(command, { abortSignal: timeout });
      verdict = { kind: 'sent', recordId: out.MeteringRecordId ?? '' };
    } catch (err) {
      verdict = judge(err, timeout.aborted, this.#o.attemptTimeoutMs);
    }
    metrics.attempts.inc({ outcome: verdict.kind === 'sent' ? 'sent' : verdict.kind === 'retry' ? (verdict.throttled ? 'throttled' : 'retry') : verdict.kind });
    const fields = { dimension: r.dimension, hour: new Date(r.hour).toISOString(), quantity: r.quantity };
    // AWS's answer is final whether or not the journal can take it now (see the class comment).
    const settle = async (line: JournalLine) => {
      this.#retry.delete(r.token);
      await this.#journalResults([line]);
    };
    switch (verdict.kind) {
      case 'sent':
        await settle({ k: 'r', tok: r.token, st: 'sent', rid: verdict.recordId });
        metrics.sent.inc({ dimension: r.dimension }, r.quantity);
        metrics.lastSent.set(this.#o.now() / 1000);
        logger.info({ ...fields, meteringRecordId: verdict.recordId }, 'usage sent');
        return;
      case 'retry': {
        if (verdict.ambiguous && !r.ambiguous) {
          // In memory at once (it only makes the record's refusal more careful), on disk when it can be.
          r.ambiguous = true;
          await this.#journalResults([{ k: 'x', tok: r.token }]);
          if (this.#owed.some((l) => l.k === 'x' && l.tok === r.token)) {
            logger.warn(
              fields,
              'the mark that an attempt of this record may have reached AWS could not be journaled yet: were the sidecar restarted before it is, a later refusal of this record would be carried, not left unreconciled',
            );
          }
        }
        const failures = (this.#retry.get(r.token)?.failures ?? 0) + 1;
        const delay = backoffDelayMs(failures, verdict.throttled ? this.#o.backoff.throttled : this.#o.backoff.transient, this.#o.random ?? Math.random);
        this.#retry.set(r.token, { failures, notBefore: this.#o.now() + delay });
        logger.warn({ ...fields, attempt: failures, retryInMs: delay, why: verdict.why }, 'MeterUsage failed transiently; retrying the same record');
        return;
      }
      case 'refused':
        if (r.ambiguous && !verdict.alwaysCarry) {
          await settle({ k: 'r', tok: r.token, st: 'unreconciled', why: verdict.why });
          metrics.unreconciled.inc({ dimension: r.dimension }, r.quantity);
          this.#event('UsageUnreconciled', `${r.quantity} units of ${r.dimension} for ${fields.hour}: AWS answered ${verdict.awsError} after an attempt whose outcome is unknown; not resent so never counted twice. Action: reconcile with the AWS Marketplace usage reports.`);
          logger.error(
            { ...fields, awsError: verdict.awsError, why: verdict.why },
            'usage unreconciled: AWS refused a record an earlier attempt may already have delivered; it is not resent, so it is never counted twice. Reconcile with AWS Marketplace reports.',
          );
          return;
        }
        await settle({ k: 'r', tok: r.token, st: 'carried', why: verdict.why });
        metrics.carried.inc({ dimension: r.dimension }, r.quantity);
        this.#event('UsageCarriedForward', `${r.quantity} units of ${r.dimension} for ${fields.hour}: AWS answered ${verdict.awsError} without recording them; they go into the next hour's record.`);
        logger.warn({ ...fields, awsError: verdict.awsError, why: verdict.why }, "usage carried forward: AWS did not record it; it goes into the next hour's record");
        return;
      case 'conflict':
        await settle({ k: 'r', tok: r.token, st: 'unreconciled', why: verdict.why });
        metrics.unreconciled.inc({ dimension: r.dimension }, r.quantity);
        this.#event('UsageUnreconciled', `${r.quantity} units of ${r.dimension} for ${fields.hour}: ${verdict.awsError}. Action: reconcile with the AWS Marketplace usage reports.`);
        logger.error({ ...fields, awsError: verdict.awsError, why: verdict.why }, 'usage unreconciled: the ClientToken is already used with other parameters');
        return;
    }
  }

  #event(reason: string, message: string): void {
    try {
      this.#o.onEvent?.({ reason, type: 'Warning', message });
    } catch {
      // A reporter's trouble never touches metering.
    }
  }
}
