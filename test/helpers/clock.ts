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

/**
 * Makes an SDK client sign on `now` instead of the machine's clock: before every request it sets the
 * SDK's own systemClockOffset (signing time = Date.now() + offset), so the client follows the clock
 * however a test moves it.
 */
export function signOnClock<C extends { middlewareStack: { add: Function }; config: { systemClockOffset?: number } }>(client: C, now: () => Date): C {
  client.middlewareStack.add(
    (next: (args: unknown) => unknown) => (args: unknown) => {
      client.config.systemClockOffset = now().getTime() - Date.now();
      return next(args);
    },
    { step: 'build', name: 'signOnTheTestClock' },
  );
  return client;
}

export function pinnedClock(at: string = QUIET_INSTANT): PinnedClock {
  const offset = Date.parse(at) - performance.timeOrigin - performance.now();
  const now = () => Math.round(performance.timeOrigin + performance.now() + offset);
  return { now, date: () => new Date(now()) };
}

/** A pinned clock a test can move forward by hand: intervals, expirations and grace periods without sleeps. */
export interface SteppedClock extends PinnedClock {
  advance(ms: number): void;
}

export function steppedClock(at: string = QUIET_INSTANT): SteppedClock {
  const base = pinnedClock(at);
  let ahead = 0;
  const now = () => base.now() + ahead;
  return {
    now,
    date: () => new Date(now()),
    advance(ms: number) {
      if (!(ms >= 0)) throw new RangeError('a clock only moves forward');
      ahead += ms;
    },
  };
}
