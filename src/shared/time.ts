/** Time in this code base: milliseconds since the epoch, from one injected clock per component. */
export type Now = () => number;

export const SECOND_MS = 1000;
export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;

/** The start of the UTC hour `ms` falls in (ms). AWS meters and de-duplicates usage per such hour. */
export function startOfHour(ms: number): number {
  return Math.floor(ms / HOUR_MS) * HOUR_MS;
}
