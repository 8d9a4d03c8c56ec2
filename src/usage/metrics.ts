import { Counter, Gauge, type Registry } from 'prom-client';
import { METRIC_PREFIX } from '../shared/metric-names.js';
import type { UsageLedger } from './ledger.js';

/** Usage metrics, by dimension: a product has at most 24 dimensions, so the label stays small. */
export interface UsageMetrics {
  readonly accepted: Counter<'dimension'>;
  readonly sent: Counter<'dimension'>;
  readonly carried: Counter<'dimension'>;
  readonly unreconciled: Counter<'dimension'>;
  readonly pending: Gauge<'dimension'>;
  readonly lastSent: Gauge;
  readonly attempts: Counter<'outcome'>;
  readonly refused: Counter<'reason'>;
  readonly journalBytes: Gauge;
  /**
   * Sets the pending gauge: units in no record yet or in records not settled, less the records in
   * `decided` (AWS has answered sent or unreconciled; only the journal has not taken the result yet).
   */
  refreshPending(ledger: UsageLedger, decided?: ReadonlySet<string>): void;
}

export const REFUSAL_REASONS = ['journal_full', 'write_failed'] as const;

export function createUsageMetrics(registry: Registry, dimensions: readonly string[]): UsageMetrics {
  const p = METRIC_PREFIX;
  const counter = (name: string, help: string) =>
    new Counter({ name: `${p}${name}`, help, labelNames: ['dimension'] as const, registers: [registry] });
  const accepted = counter('usage_accepted_units_total', 'Usage units accepted from the app and made durable in the journal.');
  const sent = counter('usage_sent_units_total', 'Usage units AWS recorded with MeterUsage.');
  const carried = counter('usage_carried_forward_units_total', "Usage units AWS refused without recording, moved into the next hour's record.");
  const unreconciled = counter(
    'usage_unreconciled_units_total',
    'Usage units refused after an attempt with an unknown outcome: not resent (it may already be counted); reconcile by hand.',
  );
  const pending = new Gauge({
    name: `${p}usage_pending_units`,
    help: 'Usage units in the journal not yet recorded by AWS (waiting for their hour to close, or being retried).',
    labelNames: ['dimension'] as const,
    registers: [registry],
  });
  const lastSent = new Gauge({ name: `${p}usage_last_sent_timestamp_seconds`, help: 'Unix time of the last record AWS accepted; 0 before the first.', registers: [registry] });
  const attempts = new Counter({
    name: `${p}meter_usage_attempts_total`,
    help: 'MeterUsage attempts by outcome (sent, throttled, retry, refused, conflict).',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const refused = new Counter({
    name: `${p}usage_refused_reports_total`,
    help: 'Reports answered 503, nothing recorded: the journal was full (journal_full) or could not be written (write_failed).',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const journalBytes = new Gauge({ name: `${p}usage_journal_bytes`, help: 'Size of the usage journal on the shared volume.', registers: [registry] });
  for (const d of dimensions) {
    for (const c of [accepted, sent, carried, unreconciled]) c.inc({ dimension: d }, 0);
    pending.set({ dimension: d }, 0);
  }
  for (const reason of REFUSAL_REASONS) refused.inc({ reason }, 0);
  lastSent.set(0);
  journalBytes.set(0);
  const refreshPending = (ledger: UsageLedger, decided: ReadonlySet<string> = new Set()) => {
    const units = ledger.pendingUnits();
    for (const r of ledger.unsettled()) if (!decided.has(r.token)) units.set(r.dimension, (units.get(r.dimension) ?? 0) + r.quantity);
    for (const d of dimensions) pending.set({ dimension: d }, units.get(d) ?? 0);
  };
  return { accepted, sent, carried, unreconciled, pending, lastSent, attempts, refused, journalBytes, refreshPending };
}
