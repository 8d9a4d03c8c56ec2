/**
 * The metering records the emulator has accepted (MeterUsage and BatchMeterUsage), indexed the way
 * AWS de-duplicates them, and the MeterUsage ClientTokens it has seen. Tests read them back through
 * `GET /_emulator/records` or `emulator.records()` to assert what reached "AWS", totals included.
 */

/** One allocation as recorded: its quantity and its tags as a map (keys are unique by then). */
export interface RecordedAllocation {
  readonly quantity: number;
  readonly tags: Readonly<Record<string, string>>;
}

export interface MeteringRecord {
  readonly operation: 'MeterUsage' | 'BatchMeterUsage';
  readonly meteringRecordId: string;
  /** Access key id (+ session token hash): the task or pod for MeterUsage, the seller for BatchMeterUsage. */
  readonly caller: string;
  readonly productCode: string;
  readonly dimension: string;
  /** The Timestamp rounded down to the hour (ISO 8601): the unit AWS de-duplicates on. */
  readonly hour: string;
  /** The Timestamp as sent (ISO 8601). */
  readonly timestamp: string;
  readonly quantity: number;
  /** null when the request had no UsageAllocations. */
  readonly allocations: readonly RecordedAllocation[] | null;
  /** MeterUsage's ClientToken of the call that created the record (null without one, and for BatchMeterUsage). */
  readonly clientToken: string | null;
  /** BatchMeterUsage only (null for MeterUsage). */
  readonly customerIdentifier: string | null;
  readonly customerAWSAccountId: string | null;
  readonly licenseArn: string | null;
  /** When the emulator accepted it (its clock, ISO 8601). */
  readonly time: string;
}

export interface RecordsView {
  readonly records: MeteringRecord[];
  /** Sum of quantities per dimension over every accepted record. */
  readonly totals: Record<string, number>;
}

interface Indexed {
  readonly record: MeteringRecord;
  /** What must match for a repeat to be idempotent rather than a duplicate. */
  readonly fingerprint: string;
}

export class MeteringRecords {
  private records: MeteringRecord[] = [];
  private byKey = new Map<string, Indexed>();
  private clientTokens = new Map<string, { fingerprint: string; meteringRecordId: string }>();

  /** The record already accepted under this de-duplication key, if any. */
  find(key: string): Indexed | undefined {
    return this.byKey.get(key);
  }

  add(key: string, fingerprint: string, record: MeteringRecord): void {
    this.byKey.set(key, { record, fingerprint });
    this.records.push(record);
  }

  clientToken(key: string): { fingerprint: string; meteringRecordId: string } | undefined {
    return this.clientTokens.get(key);
  }

  rememberClientToken(key: string, fingerprint: string, meteringRecordId: string): void {
    this.clientTokens.set(key, { fingerprint, meteringRecordId });
  }

  view(): RecordsView {
    // Through a Map: a dimension may be any string, "__proto__" included.
    const totals = new Map<string, number>();
    for (const r of this.records) totals.set(r.dimension, (totals.get(r.dimension) ?? 0) + r.quantity);
    return { records: this.records.map((r) => ({ ...r })), totals: Object.fromEntries(totals) };
  }

  reset(): void {
    this.records = [];
    this.byKey.clear();
    this.clientTokens.clear();
  }
}
