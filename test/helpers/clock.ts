/**
 * A clock that starts at a chosen instant and runs at the machine's pace from there: what the code
 * under test sees does not depend on the date or hour the suite runs at, while deadlines, timeouts
 * and backoffs still pass as they would. Give the same clock to the emulator, the SDK's signing
 * (meteringClient's `now`) and the sidecar.
 */
export interface PinnedClock {
  /** Milliseconds since the epoch, on the pinned timeline. */
  now(): number;
  date(): Date;
}

/** A quiet instant: mid-month, mid-hour, no leap day or year end near. */
export const QUIET_INSTANT = '2027-06-15T12:15:00.000Z';

export function pinnedClock(at: string = QUIET_INSTANT): PinnedClock {
  const offset = Date.parse(at) - performance.timeOrigin - performance.now();
  const now = () => Math.round(performance.timeOrigin + performance.now() + offset);
  return { now, date: () => new Date(now()) };
}
