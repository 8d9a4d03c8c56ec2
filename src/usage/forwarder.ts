import { MeterUsageCommand, type MarketplaceMeteringClient } from '@aws-sdk/client-marketplace-metering';
import type { Logger } from 'pino';
import { unqualifiedErrorName } from '../aws/errors.js';
import { backoffDelayMs, type Backoff } from '../aws/retry.js';
import { HOUR_MS, hourOf, type JournalLine, type UsageLedger, type UsageRecord } from './ledger.js';
import type { UsageJournal } from './journal.js';
import type { UsageMetrics } from './metrics.js';

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
  /** Compact the journal once it is this large (bytes) and something was settled. */
  readonly compactAboveBytes?: number;
  /** Tells the operator where it shows (a pod Event) when usage was carried forward or left unreconciled. */
  readonly onEvent?: (event: { reason: string; type: 'Warning'; message: string }) => void;
}

type Verdict =
  | { kind: 'sent'; recordId: string }
  | { kind: 'retry'; throttled: boolean; ambiguous: boolean; why: string }
  | { kind: 'refused'; awsError: string; why: string; alwaysCarry: boolean }
  | { kind: 'conflict'; awsError: string; why: string };

/** Errors after which AWS has certainly not processed the request. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN']);

export function judge(err: unknown, attemptTimedOut: boolean): Verdict {
  const e = err as { name?: string; code?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  const name = unqualifiedErrorName(e.name ?? '');
  const why = `${name || e.code || 'Error'}: ${e.message ?? String(err)}`;
  if (attemptTimedOut || name === 'TimeoutError') return { kind: 'retry', throttled: false, ambiguous: true, why };
  if (status === undefined) {
    if (name === 'CredentialsProviderError') return { kind: 'retry', throttled: false, ambiguous: false, why };
    return { kind: 'retry', throttled: false, ambiguous: !NOT_SENT_CODES.has(e.code ?? ''), why };
  }
  if (name === 'ThrottlingException') return { kind: 'retry', throttled: true, ambiguous: false, why };
  if (status >= 500 || name === 'InternalServiceErrorException') return { kind: 'retry', throttled: false, ambiguous: true, why };
  if (status >= 200 && status < 300) return { kind: 'retry', throttled: false, ambiguous: true, why: `unreadable answer: ${why}` };
  if (name === 'IdempotencyConflictException') return { kind: 'conflict', awsError: name, why };
  // Another record already holds this hour: certainly not this one (an identical resend would be answered idempotently).
  return { kind: 'refused', awsError: name, why, alwaysCarry: name === 'DuplicateRequestException' };
}

export class UsageForwarder {
  readonly #o: ForwarderOptions;
  readonly #retry = new Map<string, { failures: number; notBefore: number }>();
  #ticking: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #settledSinceCompaction = false;

  constructor(options: ForwarderOptions) {
    this.#o = options;
  }

  /** The latest hour whose records are due: closed at least `sendDelayMs` ago. */
  dueHour(): number {
    return hourOf(this.#o.now() - this.#o.sendDelayMs) - HOUR_MS;
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
   * is sent, retrying until the deadline (ms, by the injected clock). Returns the records left unsettled.
   */
  async drain(deadline: number, wait: (ms: number) => Promise<void>): Promise<number> {
    this.stop();
    while (this.#ticking !== undefined) await this.#ticking;
    const hour = hourOf(this.#o.now());
    for (;;) {
      await this.#pass(hour, true);
      const left = this.#o.ledger.unsettled();
      if (left.length === 0) return 0;
      const nextTry = Math.min(...left.map((r) => this.#retry.get(r.token)?.notBefore ?? 0));
      if (Math.max(nextTry, this.#o.now()) >= deadline) return left.length;
      await wait(Math.max(0, nextTry - this.#o.now()));
    }
  }

  async #pass(hour: number, final = false): Promise<void> {
    const { ledger, journal, metrics } = this.#o;
    const planned = ledger.plan(hour);
    if (planned.length > 0) {
      await journal.append(planned);
      for (const line of planned) {
        if (line.k !== 's') continue;
        const r = ledger.record(line.tok) as UsageRecord;
        this.#o.logger.info(
          { dimension: r.dimension, hour: new Date(r.hour).toISOString(), quantity: r.quantity, allocations: r.allocations.length, final },
          'usage record made',
        );
      }
    }
    for (const r of ledger.unsettled()) {
      const state = this.#retry.get(r.token);
      if (state !== undefined && state.notBefore > this.#o.now()) continue;
      await this.#attempt(r);
    }
    metrics.refreshPending(ledger);
    await this.#maybeCompact();
  }

  async #attempt(r: UsageRecord): Promise<void> {
    const { client, journal, metrics, logger } = this.#o;
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
      verdict = judge(err, timeout.aborted);
    }
    metrics.attempts.inc({ outcome: verdict.kind === 'sent' ? 'sent' : verdict.kind === 'retry' ? (verdict.throttled ? 'throttled' : 'retry') : verdict.kind });
    const fields = { dimension: r.dimension, hour: new Date(r.hour).toISOString(), quantity: r.quantity };
    const settle = async (line: JournalLine) => {
      await journal.append([line]);
      this.#retry.delete(r.token);
      this.#settledSinceCompaction = true;
    };
    switch (verdict.kind) {
      case 'sent':
        await settle({ k: 'r', tok: r.token, st: 'sent', rid: verdict.recordId });
        metrics.sent.inc({ dimension: r.dimension }, r.quantity);
        metrics.lastSent.set(this.#o.now() / 1000);
        logger.info({ ...fields, meteringRecordId: verdict.recordId }, 'usage sent');
        return;
      case 'retry': {
        if (verdict.ambiguous && !r.ambiguous) await journal.append([{ k: 'x', tok: r.token }]);
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

  async #maybeCompact(): Promise<void> {
    const { journal, ledger } = this.#o;
    if (!this.#settledSinceCompaction || journal.size < (this.#o.compactAboveBytes ?? 256 * 1024)) return;
    this.#settledSinceCompaction = false;
    // Marks for the last day of hours are plenty: MeterUsage accepts at most six hours back.
    await journal.compact(() => ledger.compacted(hourOf(this.#o.now()) - 24 * HOUR_MS));
  }
}
