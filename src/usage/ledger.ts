import { randomUUID } from 'node:crypto';
import { startOfHour } from '../shared/time.js';
import { MAX_QUANTITY } from './rules.js';

/**
 * The usage ledger: what the app reported, which hourly records were made from it, and what became of
 * them. Pure state, no I/O and no clock of its own, so every rule here is tested with plain numbers.
 * The journal (journal.ts) persists exactly the lines this ledger applies, and replays them at start.
 *
 * Rules, from AWS's contract for MeterUsage:
 * - one record per hour per dimension per task/pod; an hour is sent only once it has closed (sending
 *   early locks it), except at shutdown, when the pod's current hour is final anyway;
 * - a record, once made, is frozen: retries resend exactly it, with the same ClientToken, so AWS answers
 *   them idempotently and never DuplicateRequestException;
 * - usage that cannot go into its own hour's record (that record already exists, or was refused without
 *   being recorded) is carried into the next hour's record: never dropped, never sent twice.
 */

export type Tags = Readonly<Record<string, string>>;

/** MeterUsage's limits: UsageQuantity is an int32, at most 2500 allocations per record. */
export const MAX_RECORD_QUANTITY = MAX_QUANTITY;
export const MAX_ALLOCATIONS = 2500;


/** A canonical key for a tag set: '' for untagged usage. */
export function tagsKey(tags: Tags | undefined): string {
  if (tags === undefined) return '';
  const keys = Object.keys(tags).sort();
  return keys.length === 0 ? '' : JSON.stringify(keys.map((k) => [k, tags[k]]));
}

export function tagsFromKey(key: string): Tags | undefined {
  if (key === '') return undefined;
  return Object.fromEntries(JSON.parse(key) as [string, string][]);
}

/** One line of the journal. Short keys: the journal lives on a small shared volume. */
export type JournalLine =
  /** Usage accepted from the app at `at` (ms), with the app's optional idempotency key. */
  | { k: 'u'; at: number; d: string; q: number; t?: Tags; id?: string }
  /**
   * A record made for hour `h`: its ClientToken, and the pending usage it took (hour, tags key,
   * quantity). With `own` (written by compaction) it holds that usage itself rather than taking it
   * from pending lines before it, so an unsettled record costs one line, not its reports and a line.
   */
  | { k: 's'; tok: string; h: number; d: string; from: [number, string, number][]; own?: true }
  /** An attempt of that record whose outcome is unknown (timeout, 5xx, reset after sending). */
  | { k: 'x'; tok: string }
  /** What became of the record. */
  | { k: 'r'; tok: string; st: RecordResult; rid?: string; why?: string }
  /** After compaction: hour `h` already has its record for dimension `d` (its details are settled and gone). */
  | { k: 'm'; h: number; d: string }
  /** After compaction: idempotency keys of recent reports, so an app's retry is still recognised. */
  | { k: 'i'; ids: string[] };

export type RecordResult =
  /** AWS recorded it (or already had it, answering idempotently). */
  | 'sent'
  /** AWS refused it without recording it: its usage went back to pending, for the next hour's record. */
  | 'carried'
  /** Refused after an attempt whose outcome is unknown: resending could count it twice, so it is not. */
  | 'unreconciled';

export interface UsageRecord {
  readonly token: string;
  readonly hour: number;
  readonly dimension: string;
  readonly quantity: number;
  readonly allocations: readonly { readonly tags: Tags | undefined; readonly quantity: number }[];
  readonly from: readonly [number, string, number][];
  /** Some attempt may have reached AWS without an answer. */
  ambiguous: boolean;
  result?: RecordResult;
  recordId?: string;
}

export class UsageLedger {
  /** hour -> dimension -> tags key -> quantity not yet in any record. */
  readonly #pending = new Map<number, Map<string, Map<string, number>>>();
  readonly #records = new Map<string, UsageRecord>();
  /** `${hour}|${dimension}` of every record ever made, so an hour is never recorded twice. */
  readonly #recorded = new Set<string>();
  /** Recent idempotency keys, oldest first (a Set keeps insertion order). */
  readonly #intakeIds = new Set<string>();
  #intakeIdBytes = 0;
  readonly #maxIntakeIds: number;
  readonly #maxIntakeIdBytes: number;

  constructor(options: { readonly maxIntakeIds?: number; readonly maxIntakeIdBytes?: number } = {}) {
    this.#maxIntakeIds = options.maxIntakeIds ?? MAX_KEPT_INTAKE_IDS;
    this.#maxIntakeIdBytes = options.maxIntakeIdBytes ?? Number.POSITIVE_INFINITY;
  }

  /**
   * Why `line` cannot follow what this ledger holds, or undefined when it can: a record that takes more
   * than is pending (a backlog can never go negative), a second record for an hour, a result for a
   * record that does not exist or is settled already. Lines are checked for shape before (journal-lines.ts).
   */
  conflict(line: JournalLine): string | undefined {
    switch (line.k) {
      case 'u':
        // Only a write reported failed (its truncation failed too) and then retried by the app gets here.
        if (line.id !== undefined && this.#intakeIds.has(line.id)) return `a report with id "${line.id}" is counted already`;
        return undefined;
      case 's': {
        if (this.#records.has(line.tok)) return `record ${line.tok} exists already`;
        if (this.#recorded.has(`${line.h}|${line.d}`)) return `hour ${new Date(line.h).toISOString()} of ${line.d} has its record already`;
        if (line.own === true) return undefined;
        const seen = new Set<string>();
        for (const [h, key, q] of line.from) {
          const id = `${h}|${key}`;
          if (seen.has(id)) return 'the record takes from the same pending usage twice';
          seen.add(id);
          const pending = this.#pending.get(h)?.get(line.d)?.get(key) ?? 0;
          if (pending < q) return `the record takes ${q} units of ${line.d} from ${new Date(h).toISOString()}, where ${pending} are pending`;
        }
        return undefined;
      }
      case 'x':
      case 'r': {
        const r = this.#records.get(line.tok);
        if (r === undefined) return `no record ${line.tok}`;
        if (r.result !== undefined) return `record ${line.tok} is settled already (${r.result})`;
        return undefined;
      }
      default:
        return undefined;
    }
  }

  /** Applies one journal line; the journal calls this on replay and after each durable append. Throws on a conflict, changing nothing. */
  apply(line: JournalLine): void {
    const conflict = this.conflict(line);
    if (conflict !== undefined) throw new LedgerConflictError(conflict);
    switch (line.k) {
      case 'u':
        this.#add(startOfHour(line.at), line.d, tagsKey(line.t), line.q);
        if (line.id !== undefined) this.#rememberIntakeId(line.id);
        return;
      case 's': {
        if (line.own !== true) for (const [h, key, q] of line.from) this.#add(h, line.d, key, -q);
        const byTags = new Map<string, number>();
        for (const [, key, q] of line.from) byTags.set(key, (byTags.get(key) ?? 0) + q);
        const allocations = [...byTags].map(([key, quantity]) => ({ tags: tagsFromKey(key), quantity }));
        const quantity = allocations.reduce((sum, a) => sum + a.quantity, 0);
        this.#records.set(line.tok, { token: line.tok, hour: line.h, dimension: line.d, quantity, allocations, from: line.from, ambiguous: false });
        this.#recorded.add(`${line.h}|${line.d}`);
        return;
      }
      case 'x':
        (this.#records.get(line.tok) as UsageRecord).ambiguous = true;
        return;
      case 'm':
        this.#recorded.add(`${line.h}|${line.d}`);
        return;
      case 'i':
        for (const id of line.ids) this.#rememberIntakeId(id);
        return;
      case 'r': {
        const r = this.#records.get(line.tok) as UsageRecord;
        r.result = line.st;
        if (line.rid !== undefined) r.recordId = line.rid;
        // Carried usage is pending again, at the refused record's hour: the next hour's record takes it.
        if (line.st === 'carried') for (const [, key, q] of r.from) this.#add(r.hour, r.dimension, key, q);
        return;
      }
    }
  }

  /** Remembers an idempotency key; the oldest are forgotten beyond the count and byte bounds. */
  #rememberIntakeId(id: string): void {
    if (this.#intakeIds.has(id)) return;
    this.#intakeIds.add(id);
    this.#intakeIdBytes += idBytes(id);
    for (const oldest of this.#intakeIds) {
      if (this.#intakeIds.size <= this.#maxIntakeIds && this.#intakeIdBytes <= this.#maxIntakeIdBytes) break;
      this.#intakeIds.delete(oldest);
      this.#intakeIdBytes -= idBytes(oldest);
    }
  }

  #add(hour: number, dimension: string, key: string, quantity: number): void {
    let byDimension = this.#pending.get(hour);
    if (byDimension === undefined) this.#pending.set(hour, (byDimension = new Map()));
    let byTags = byDimension.get(dimension);
    if (byTags === undefined) byDimension.set(dimension, (byTags = new Map()));
    const next = (byTags.get(key) ?? 0) + quantity;
    if (next === 0) byTags.delete(key);
    else byTags.set(key, next);
    if (byTags.size === 0) byDimension.delete(dimension);
    if (byDimension.size === 0) this.#pending.delete(hour);
  }

  hasIntakeId(id: string): boolean {
    return this.#intakeIds.has(id);
  }

  /**
   * The records to make for hour `hour` (closed, or the current one at shutdown): one per dimension
   * with pending usage from that hour or earlier, unless that hour already has its record (then the
   * usage waits for the next hour). Returns journal lines to append; apply them once they are durable.
   */
  plan(hour: number, newToken: () => string = randomUUID): JournalLine[] {
    const byDimension = new Map<string, [number, string, number][]>();
    for (const [h, dims] of [...this.#pending].sort((a, b) => a[0] - b[0])) {
      if (h > hour) continue;
      for (const [d, byTags] of dims) {
        if (this.#recorded.has(`${hour}|${d}`)) continue;
        let list = byDimension.get(d);
        if (list === undefined) byDimension.set(d, (list = []));
        for (const [key, q] of byTags) list.push([h, key, q]);
      }
    }
    const lines: JournalLine[] = [];
    for (const [d, contributions] of byDimension) {
      const from = capRecord(contributions);
      if (from.length > 0) lines.push({ k: 's', tok: newToken(), h: hour, d, from });
    }
    return lines;
  }

  /** Records made but not settled, oldest hour first: what the forwarder must (re)send. */
  unsettled(): UsageRecord[] {
    return [...this.#records.values()].filter((r) => r.result === undefined).sort((a, b) => a.hour - b.hour);
  }

  record(token: string): UsageRecord | undefined {
    return this.#records.get(token);
  }

  /** Units not yet in any record, per dimension. */
  pendingUnits(): Map<string, number> {
    const out = new Map<string, number>();
    for (const dims of this.#pending.values()) {
      for (const [d, byTags] of dims) for (const q of byTags.values()) out.set(d, (out.get(d) ?? 0) + q);
    }
    return out;
  }

  /**
   * The lines a compacted journal needs to rebuild what still matters: pending usage, unsettled records,
   * which recent hours already have their record, and recent idempotency keys. Settled records older
   * than `keepMarksSince` are forgotten: their hours are long closed.
   */
  compacted(keepMarksSince: number, keepIntakeIds = MAX_KEPT_INTAKE_IDS): JournalLine[] {
    const lines: JournalLine[] = [];
    for (const [h, dims] of this.#pending) {
      for (const [d, byTags] of dims) {
        for (const [key, q] of byTags) {
          const t = tagsFromKey(key);
          lines.push({ k: 'u', at: h, d, q, ...(t === undefined ? {} : { t }) });
        }
      }
    }
    const unsettled = new Set<string>();
    for (const r of this.#records.values()) {
      if (r.result !== undefined) continue;
      unsettled.add(`${r.hour}|${r.dimension}`);
      lines.push({ k: 's', tok: r.token, h: r.hour, d: r.dimension, from: [...r.from], own: true });
      if (r.ambiguous) lines.push({ k: 'x', tok: r.token });
    }
    for (const mark of this.#recorded) {
      const [h, d] = [Number(mark.slice(0, mark.indexOf('|'))), mark.slice(mark.indexOf('|') + 1)];
      if (h >= keepMarksSince && !unsettled.has(mark)) lines.push({ k: 'm', h, d });
    }
    const ids = [...this.#intakeIds].slice(-keepIntakeIds);
    if (ids.length > 0) lines.push({ k: 'i', ids });
    return lines;
  }

  /** The compacted journal of this ledger with `extra` applied, leaving this ledger as it is. */
  compactedWith(extra: readonly JournalLine[], keepMarksSince: number): JournalLine[] {
    const scratch = new UsageLedger({ maxIntakeIds: this.#maxIntakeIds, maxIntakeIdBytes: this.#maxIntakeIdBytes });
    for (const line of this.compacted(keepMarksSince)) scratch.apply(line);
    for (const line of extra) scratch.apply(line);
    return scratch.compacted(keepMarksSince);
  }
}

/** How many of the app's idempotency keys are remembered (also across compactions): retries come within seconds. */
export const MAX_KEPT_INTAKE_IDS = 10_000;
/** Bytes of a journal line as written: JSON and a newline. */
export function lineBytes(line: JournalLine): number {
  return Buffer.byteLength(JSON.stringify(line)) + 1;
}

/** Bytes an id adds to the compacted `i` line: the JSON string and a comma. */
function idBytes(id: string): number {
  return Buffer.byteLength(JSON.stringify(id)) + 1;
}

/** Takes contributions (oldest first) up to MeterUsage's quantity and allocation limits; the rest waits. */
function capRecord(contributions: [number, string, number][]): [number, string, number][] {
  const taken: [number, string, number][] = [];
  const keys = new Set<string>();
  let total = 0;
  for (const [h, key, q] of contributions) {
    if (!keys.has(key) && keys.size >= MAX_ALLOCATIONS) continue;
    const room = MAX_RECORD_QUANTITY - total;
    if (room <= 0) break;
    const take = Math.min(q, room);
    if (take <= 0) continue;
    keys.add(key);
    taken.push([h, key, take]);
    total += take;
  }
  return taken;
}

/** A line that contradicts the ledger (see `conflict`). */
export class LedgerConflictError extends Error {
  override readonly name = 'LedgerConflictError';
}
