import { describe, expect, it } from 'vitest';
import { backoffDelayMs, DEFAULT_RETRY_POLICY } from '../../../src/aws/retry.js';

describe('backoffDelayMs', () => {
  it('doubles its ceiling per failure up to the cap (full jitter: from zero)', () => {
    const full = { baseDelayMs: 1000, maxDelayMs: 30_000, jitter: 'full' } as const;
    expect([1, 2, 3, 4, 5, 6, 40].map((n) => backoffDelayMs(n, full, () => 0.999999))).toEqual([999, 1999, 3999, 7999, 15999, 29999, 29999]);
    expect(backoffDelayMs(5, full, () => 0)).toBe(0);
  });
  it('keeps half of the ceiling fixed with equal jitter', () => {
    const equal = { baseDelayMs: 500, maxDelayMs: 4000, jitter: 'equal' } as const;
    expect([1, 2, 3, 4, 9].map((n) => backoffDelayMs(n, equal, () => 0))).toEqual([250, 500, 1000, 2000, 2000]);
    expect([1, 2, 3, 4, 9].map((n) => backoffDelayMs(n, equal, () => 0.999999))).toEqual([499, 999, 1999, 3999, 3999]);
  });
  it('backs off throttling on a short cap and outages on a long one', () => {
    expect(DEFAULT_RETRY_POLICY.throttled.maxDelayMs).toBeLessThan(DEFAULT_RETRY_POLICY.transient.maxDelayMs);
  });
});
