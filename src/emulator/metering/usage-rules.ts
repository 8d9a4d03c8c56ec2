/**
 * Rules MeterUsage and BatchMeterUsage share that no model trait can state: tags and allocations,
 * the hour a Timestamp falls in, and the window a Timestamp must fall in.
 *
 * Which error for which tag/allocation problem: a broken trait (length, pattern, more than 5 tags,
 * more than 2500 allocations) never gets here, it is a ValidationException (see shapes.ts). Here:
 *   - the same tag key twice in one allocation          -> InvalidTagException
 *   - allocated quantities not summing to the quantity  -> InvalidUsageAllocationsException
 *   - two allocations with the same tag set (or both untagged) -> InvalidUsageAllocationsException
 */
import { HOUR_MS, startOfHour } from '../../shared/time.js';
import { modelError } from './errors.js';
import type { RecordedAllocation } from './records.js';
import type { WireAllocation } from './shapes.js';

/** How far ahead of the service's clock a Timestamp may be. */
export const FUTURE_TOLERANCE_MS = 5 * 60_000;

/** Checks allocations against the usage quantity; `where` prefixes messages ("usageRecords.3: "). */
export function checkAllocations(allocations: readonly WireAllocation[] | undefined, quantity: number, where = ''): void {
  if (allocations === undefined) return;
  for (const [i, a] of allocations.entries()) {
    const keys = (a.Tags ?? []).map((t) => t.Key);
    const repeated = keys.find((k, j) => keys.indexOf(k) !== j);
    if (repeated !== undefined) throw modelError('InvalidTagException', `${where}Allocation ${i + 1} has the tag key "${repeated}" more than once.`);
  }
  const sum = allocations.reduce((s, a) => s + a.AllocatedUsageQuantity, 0);
  if (sum !== quantity) {
    throw modelError('InvalidUsageAllocationsException', `${where}The allocations add up to ${sum}, the usage quantity is ${quantity}.`);
  }
  const seen = new Map<string, number>();
  for (const [i, a] of allocations.entries()) {
    const set = tagSetKey(a);
    const earlier = seen.get(set);
    if (earlier !== undefined) {
      throw modelError('InvalidUsageAllocationsException', `${where}Allocations ${earlier + 1} and ${i + 1} have the same set of tags; each allocation needs a unique one.`);
    }
    seen.set(set, i);
  }
}

function tagSetKey(a: WireAllocation): string {
  return JSON.stringify((a.Tags ?? []).map((t) => [t.Key, t.Value]).sort(([x = ''], [y = '']) => (x < y ? -1 : x > y ? 1 : 0)));
}

/** Allocations as recorded: in the order sent, tags as a map. */
export function recordedAllocations(allocations: readonly WireAllocation[] | undefined): RecordedAllocation[] | null {
  if (allocations === undefined) return null;
  return allocations.map((a) => ({ quantity: a.AllocatedUsageQuantity, tags: Object.fromEntries((a.Tags ?? []).map((t) => [t.Key, t.Value])) }));
}

/** What must be equal for a repeat to be the same usage: the quantity and the allocations as a set of tag sets. */
export function usageFingerprint(quantity: number, allocations: readonly WireAllocation[] | undefined): string {
  const canonical = allocations?.map((a) => `${a.AllocatedUsageQuantity}:${tagSetKey(a)}`).sort() ?? null;
  return JSON.stringify([quantity, canonical]);
}

/** The start of the hour (epoch ms) a wire Timestamp (epoch seconds) falls in: AWS's de-duplication unit. */
export function hourOfTimestamp(timestampS: number): number {
  return startOfHour(timestampS * 1000);
}

/** Throws TimestampOutOfBoundsException unless now - lookBack <= timestamp <= now + 5 min. */
export function checkWindow(timestampS: number, now: Date, lookBackMs: number, where = ''): void {
  const t = timestampS * 1000;
  const oldest = now.getTime() - lookBackMs;
  if (t < oldest) {
    throw modelError('TimestampOutOfBoundsException', `${where}${isoOrRaw(timestampS)} is older than ${new Date(oldest).toISOString()} (${lookBackMs / HOUR_MS} h back).`);
  }
  if (t > now.getTime() + FUTURE_TOLERANCE_MS) {
    throw modelError('TimestampOutOfBoundsException', `${where}${isoOrRaw(timestampS)} is more than 5 minutes ahead of ${now.toISOString()}.`);
  }
}

/** A Timestamp for messages and records; a value outside Date's range is shown as sent. */
export function isoOrRaw(timestampS: number): string {
  const d = new Date(timestampS * 1000);
  return Number.isNaN(d.getTime()) ? String(timestampS) : d.toISOString();
}

/**
 * BatchMeterUsage's extra rule (newest docs): usage for a billing month is accepted until 06:00 UTC on
 * the first day of the next month, even when the look-back would still cover it.
 */
export function checkBillingMonth(timestampS: number, now: Date, where = ''): void {
  const monthStart = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1);
  const cutoff = monthStart + 6 * HOUR_MS;
  if (timestampS * 1000 < monthStart && now.getTime() >= cutoff) {
    throw modelError('TimestampOutOfBoundsException', `${where}${isoOrRaw(timestampS)} is in a billing month that closed at ${new Date(cutoff).toISOString()}.`);
  }
}
