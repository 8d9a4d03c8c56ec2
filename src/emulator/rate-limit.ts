/**
 * Token buckets per key (api.ts keys them by operation and account), the way AWS enforces its quotas:
 * RegisterUsage 5/s, MeterUsage 10/s per account per region. Time comes from the injected clock, so a
 * test with a frozen clock gets exactly `burst` successes.
 */
import type { RateLimit } from './scenario.js';

interface Bucket {
  tokens: number;
  at: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly now: () => Date;

  constructor(now: () => Date) {
    this.now = now;
  }

  /** Takes one token from `key`'s bucket; false when it is empty. A null limit always admits. */
  take(key: string, limit: RateLimit | null): boolean {
    if (limit === null) return true;
    const at = this.now().getTime();
    const bucket = this.buckets.get(key) ?? { tokens: limit.burst, at };
    // A clock that goes backwards (a test resetting it) must not drain or overfill the bucket.
    const elapsed = Math.max(0, at - bucket.at) / 1000;
    bucket.tokens = Math.min(limit.burst, bucket.tokens + elapsed * limit.perSecond);
    bucket.at = Math.max(bucket.at, at);
    this.buckets.set(key, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  reset(): void {
    this.buckets.clear();
  }
}
