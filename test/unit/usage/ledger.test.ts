import { describe, expect, it } from 'vitest';
import { HOUR_MS } from '../../../src/shared/time.js';
import { MAX_ALLOCATIONS, MAX_RECORD_QUANTITY, UsageLedger, type JournalLine, type RecordResult } from '../../../src/usage/ledger.js';

const H = (n: number) => Date.UTC(2026, 10, 23, n);
let seq = 0;
const token = () => `tok-${++seq}`;

function ledgerWith(lines: JournalLine[]): UsageLedger {
  const l = new UsageLedger();
  for (const line of lines) l.apply(line);
  return l;
}

/** Plans hour `h`, applies the plan as the journal would once durable, and returns the records made. */
function plan(l: UsageLedger, h: number) {
  const lines = l.plan(h, token);
  for (const line of lines) l.apply(line);
  return lines.map((line) => l.record((line as { tok: string }).tok)!);
}

function settle(l: UsageLedger, tok: string, st: RecordResult) {
  l.apply({ k: 'r', tok, st, ...(st === 'sent' ? { rid: `rid-${tok}` } : {}) });
}

describe('UsageLedger', () => {
  it("makes one record per dimension for a closed hour, with that hour's usage split by tag set", () => {
    const l = ledgerWith([
      { k: 'u', at: H(9) + 10, d: 'gb', q: 5 },
      { k: 'u', at: H(9) + 20, d: 'gb', q: 7, t: { team: 'a' } },
      { k: 'u', at: H(9) + 30, d: 'gb', q: 1, t: { team: 'a' } },
      { k: 'u', at: H(9) + 40, d: 'req', q: 3 },
      { k: 'u', at: H(10) + 1, d: 'gb', q: 100 },
    ]);
    const records = plan(l, H(9));
    expect(records.map((r) => [r.dimension, r.hour, r.quantity])).toEqual([
      ['gb', H(9), 13],
      ['req', H(9), 3],
    ]);
    expect(records[0]?.allocations).toEqual([
      { tags: undefined, quantity: 5 },
      { tags: { team: 'a' }, quantity: 8 },
    ]);
    // The open hour's usage waits for its own hour.
    expect(l.pendingUnits()).toEqual(new Map([['gb', 100]]));
  });

  it('never makes a second record for an hour: later usage of that hour waits for the next', () => {
    const l = ledgerWith([{ k: 'u', at: H(9), d: 'gb', q: 5 }]);
    const [first] = plan(l, H(9));
    settle(l, first!.token, 'sent');
    // Usage stamped in hour 9 after its record was made (a shutdown sent the hour early, then a restart).
    l.apply({ k: 'u', at: H(9) + 100, d: 'gb', q: 2 });
    expect(plan(l, H(9))).toEqual([]);
    const [next] = plan(l, H(10));
    expect([next?.hour, next?.quantity]).toEqual([H(10), 2]);
  });

  it('carries a refused record into the next hour, and never sends an ambiguous refusal again', () => {
    const l = ledgerWith([{ k: 'u', at: H(9), d: 'gb', q: 5 }]);
    const [refused] = plan(l, H(9));
    settle(l, refused!.token, 'carried');
    l.apply({ k: 'u', at: H(10), d: 'gb', q: 1 });
    const [carried] = plan(l, H(10));
    expect(carried?.quantity).toBe(6);

    l.apply({ k: 'x', tok: carried!.token });
    expect(l.record(carried!.token)?.ambiguous).toBe(true);
    settle(l, carried!.token, 'unreconciled');
    expect(plan(l, H(11))).toEqual([]);
    expect(l.pendingUnits().size).toBe(0);
  });

  it("caps a record at MeterUsage's limits and leaves the rest for the next hour", () => {
    const l = ledgerWith([
      { k: 'u', at: H(9), d: 'gb', q: MAX_RECORD_QUANTITY },
      { k: 'u', at: H(9) + 1, d: 'gb', q: 10 },
    ]);
    expect(plan(l, H(9)).map((r) => r.quantity)).toEqual([MAX_RECORD_QUANTITY]);
    expect(plan(l, H(10)).map((r) => r.quantity)).toEqual([10]);

    const many = ledgerWith(Array.from({ length: MAX_ALLOCATIONS + 3 }, (_, i) => ({ k: 'u' as const, at: H(9), d: 'gb', q: 1, t: { n: String(i) } })));
    expect(plan(many, H(9))[0]?.allocations).toHaveLength(MAX_ALLOCATIONS);
    expect(plan(many, H(10))[0]?.allocations).toHaveLength(3);
  });

  it('remembers idempotency keys of reports', () => {
    const l = ledgerWith([{ k: 'u', at: H(9), d: 'gb', q: 1, id: 'req-1' }]);
    expect(l.hasIntakeId('req-1')).toBe(true);
    expect(l.hasIntakeId('req-2')).toBe(false);
  });

  it('rebuilds the same state from its compacted journal', () => {
    const l = ledgerWith([
      { k: 'u', at: H(8), d: 'gb', q: 4, id: 'a' },
      { k: 'u', at: H(9), d: 'gb', q: 5, t: { team: 'x' } },
      { k: 'u', at: H(10), d: 'req', q: 9 },
    ]);
    const [r8] = plan(l, H(8));
    settle(l, r8!.token, 'sent');
    const [r9] = plan(l, H(9));
    l.apply({ k: 'x', tok: r9!.token });
    const copy = ledgerWith(l.compacted(H(0)));
    expect(copy.pendingUnits()).toEqual(l.pendingUnits());
    expect(copy.unsettled().map((r) => [r.token, r.quantity, r.ambiguous])).toEqual([[r9!.token, 5, true]]);
    expect(copy.hasIntakeId('a')).toBe(true);
    // Hour 8 is still known as recorded: nothing is made for it again.
    copy.apply({ k: 'u', at: H(8), d: 'gb', q: 1 });
    expect(plan(copy, H(8))).toEqual([]);
  });

  it('conserves every unit through random streams of reports, refusals and compactions', () => {
    for (let run = 0; run < 50; run++) {
      let s = run + 1;
      const rnd = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
      let l = new UsageLedger();
      let reported = 0;
      let sent = 0;
      let unreconciled = 0;
      for (let hour = 0; hour < 12; hour++) {
        for (let i = 0; i < 1 + Math.floor(rnd() * 20); i++) {
          const q = Math.floor(rnd() * 1000);
          reported += q;
          l.apply({ k: 'u', at: H(hour) + Math.floor(rnd() * HOUR_MS), d: rnd() < 0.5 ? 'gb' : 'req', q, ...(rnd() < 0.5 ? { t: { team: rnd() < 0.5 ? 'a' : 'b' } } : {}) });
        }
        if (hour === 0) continue;
        plan(l, H(hour - 1));
        for (const r of l.unsettled()) {
          const roll = rnd();
          if (roll < 0.2) continue; // still being retried
          if (roll < 0.3) l.apply({ k: 'x', tok: r.token });
          const st: RecordResult = roll < 0.7 ? 'sent' : r.ambiguous && roll < 0.8 ? 'unreconciled' : 'carried';
          settle(l, r.token, st);
          if (st === 'sent') sent += r.quantity;
          if (st === 'unreconciled') unreconciled += r.quantity;
        }
        if (rnd() < 0.3) l = ledgerWith(l.compacted(H(hour) - 24 * HOUR_MS));
      }
      const inFlight = l.unsettled().reduce((n, r) => n + r.quantity, 0);
      const pending = [...l.pendingUnits().values()].reduce((a, b) => a + b, 0);
      expect(sent + unreconciled + inFlight + pending, `run ${run}`).toBe(reported);
    }
  });
});
