import type { License } from '@aws-sdk/client-license-manager';
import { randomUUID } from 'node:crypto';
import type { ClassifiedError } from '../aws/errors.js';
import {
  AWS_MARKETPLACE_KEY_FINGERPRINT,
  checkInLicense,
  checkoutLicense,
  extendConsumption,
  getLicense,
  type Checkout,
  type LicenseCallDeps,
} from '../aws/license-manager.js';
import { backoffDelayMs } from '../aws/retry.js';
import type { LicenseManagerConfig } from '../config/settings.js';
import { verifyLicenseToken } from '../entitlement/license-token.js';
import { TokenVerificationError } from '../entitlement/token.js';
import type { SnapshotInput } from '../entitlement/status.js';
import { readSeat, removeSeat, writeSeat, type SeatRecord } from './license-seat.js';
import { aborted, ok, outcome, type Entitlement, type EntitlementSource, type SourceContext, type Step, type Watch, type WatchEvents } from './source.js';

/**
 * Entitlement for contract-priced products through AWS License Manager, with the behaviour AWS
 * recommends built in:
 * - one seat per pod: the checkout is recorded on the shared volume, a restarted sidecar reuses it
 *   (extending it) rather than taking a second seat, it is extended well before its Expiration and
 *   checked in at stop;
 * - while running, the license is checked at ENTITLEMENT_LICENSE_CHECK_INTERVAL (GetLicense): renewals,
 *   upgrades (a new tier), expiry and cancellation are seen without a restart, and a pod that had no
 *   license becomes entitled when the buyer subscribes;
 * - "could not check" is not "no license": the last good license stays in force for
 *   ENTITLEMENT_LICENSE_GRACE, marked stale, before the pod becomes not entitled.
 */

/** A check-in at stop gets this long at most (the stop budget holds it). */
const CHECK_IN_BUDGET_MS = 4000;

interface Held {
  seat: SeatRecord;
  entitlement: Entitlement;
}

export function licenseManagerSource(config: LicenseManagerConfig): EntitlementSource {
  // The license's home region once License Manager has redirected there (RedirectException).
  let homeRegion: string | undefined;
  let held: Held | undefined;

  const regionOf = (ctx: SourceContext) => homeRegion ?? ctx.region;
  const deps = (ctx: SourceContext, overrides: Partial<LicenseCallDeps> = {}): LicenseCallDeps => ({
    client: ctx.aws.licenseManager(regionOf(ctx)),
    signal: ctx.signal,
    policy: ctx.policy,
    now: ctx.now,
    ...overrides,
  });
  const counted = (ctx: SourceContext, operation: string) => (a: { code: string; durationMs: number }) =>
    ctx.metrics.record((m) => m.licenseCalls.inc({ operation, outcome: a.code }));

  /** What of the entitlements asked for the answer granted: name and unit must both match. */
  const grantedOf = (allowed: readonly { name: string; unit: string; value: string | null }[]) =>
    allowed.filter((g) => config.entitlements.some((e) => e.name === g.name && e.unit === g.unit));

  /**
   * Until when the entitlement file vouches for the license, so an app that finds it unchanged later
   * (the sidecar gone) stops trusting it: a seat's Expiration (extended, and the file rewritten, halfway
   * to it); for drawdown, two check intervals after the last check; while License Manager cannot be
   * reached, the end of the grace period; never after the license's own end.
   */
  const vouchedUntil = (seat: SeatRecord, staleUntil: number | undefined): string => {
    let until = seat.checkoutType === 'PROVISIONAL' ? Date.parse(seat.expiration) : Date.parse(seat.checkedAt) + 2 * config.checkIntervalMs;
    if (staleUntil !== undefined) until = Math.max(until, staleUntil);
    if (seat.licenseEnd !== null) until = Math.min(until, Date.parse(seat.licenseEnd));
    return new Date(until).toISOString();
  };

  const entitlementOf = (seat: SeatRecord, staleUntil?: number): Entitlement => {
    const stale = staleUntil !== undefined;
    const record = {
      source: 'license-manager' as const,
      productSku: config.productSku,
      licenseArn: seat.licenseArn,
      checkoutType: seat.checkoutType,
      keyFingerprint: AWS_MARKETPLACE_KEY_FINGERPRINT,
      entitlements: seat.entitlements,
      issuedAt: seat.issuedAt,
      expiration: vouchedUntil(seat, staleUntil),
      checkedAt: seat.checkedAt,
      stale,
      signedToken: seat.signedToken,
      signedTokenVerified: seat.signedTokenVerified,
    };
    const { signedToken: _signedToken, keyFingerprint: _fingerprint, ...summary } = record;
    const what = seat.entitlements.map((e) => (e.value === null ? e.name : `${e.name} ${e.value} ${e.unit}`)).join(', ');
    return {
      record,
      summary,
      message: `entitled to ${config.productSku} (${what}) by license ${seat.licenseArn}`,
      verifiedAt: new Date(seat.checkedAt),
      publicKeyRotation: undefined,
      attempts: 1,
    };
  };

  /** Whether a license, as GetLicense shows it, still entitles the pod; the outcome when it does not. */
  const judgeLicense = (license: License, now: number): SnapshotInput | undefined => {
    if (license.ProductSKU !== undefined && license.ProductSKU.toLowerCase() !== config.productSku) {
      return { code: 'NO_LICENSE', message: `the license ${license.LicenseArn ?? ''} is for product ${license.ProductSKU}, not ${config.productSku}` };
    }
    const fingerprint = license.Issuer?.KeyFingerprint;
    if (fingerprint !== undefined && fingerprint !== AWS_MARKETPLACE_KEY_FINGERPRINT) {
      return { code: 'NO_LICENSE', message: `the license ${license.LicenseArn ?? ''} was not issued by AWS Marketplace (issuer fingerprint ${fingerprint})` };
    }
    const status = license.Status;
    if (status === 'EXPIRED') return { code: 'LICENSE_EXPIRED', message: `the license ${license.LicenseArn ?? ''} has expired (status EXPIRED)` };
    if (status !== undefined && status !== 'AVAILABLE') return { code: 'LICENSE_INACTIVE', message: `the license ${license.LicenseArn ?? ''} is ${status}` };
    const end = license.Validity?.End === undefined ? undefined : Date.parse(license.Validity.End);
    if (end !== undefined && Number.isFinite(end) && end <= now) {
      return { code: 'LICENSE_EXPIRED', message: `the license ${license.LicenseArn ?? ''} ended at ${new Date(end).toISOString()}` };
    }
    return undefined;
  };

  /** A failed call as an outcome, with the operator's hint for the trap of a wrong unit. */
  const failureOutcome = (operation: string, failure: ClassifiedError): SnapshotInput => {
    const hint = failure.code === 'NO_LICENSE' ? ` (asked for ${config.entitlements.map((e) => `${e.name}:${e.unit}`).join(', ')})` : '';
    return { code: failure.code, awsError: failure.awsError, message: `${operation}: ${failure.awsError ?? failure.code}: ${failure.detail}${hint}` };
  };

  const checkIn = async (ctx: SourceContext, seat: SeatRecord, timeoutMs: number) => {
    if (seat.checkoutType === 'PROVISIONAL') {
      // Its own signal: a check-in is what a stopping sidecar does, and it is bounded by `timeoutMs`.
      const r = await checkInLicense(
        seat.consumptionToken,
        deps(ctx, { signal: new AbortController().signal, maxAttempts: 2, policy: { ...ctx.policy, attemptTimeoutMs: timeoutMs, deadlineMs: timeoutMs }, onAttempt: counted(ctx, 'checkin') }),
      );
      if (r.kind === 'failed' && r.code !== 'NO_LICENSE') {
        ctx.logger.warn({ licenseArn: seat.licenseArn, code: r.code, awsError: r.awsError }, 'could not check the license in; the seat returns by itself at its expiry');
      } else if (r.kind === 'done') ctx.logger.info({ licenseArn: seat.licenseArn }, 'license checked in');
    }
    await removeSeat(ctx.entitlementFile).catch((err: unknown) => ctx.logger.warn({ err }, 'could not remove the seat record'));
  };

  /** A fresh checkout (one ClientToken across its retries), verified and confirmed; the seat, or why not. */
  const checkOut = async (ctx: SourceContext, overrides: Partial<LicenseCallDeps>): Promise<Step<SeatRecord>> => {
    const request = { productSku: config.productSku, checkoutType: config.checkoutType, entitlements: config.entitlements, clientToken: randomUUID() };
    let result = await checkoutLicense(request, deps(ctx, { onAttempt: (a) => (counted(ctx, 'checkout')(a), ctx.onAttempt(a)), ...overrides }));
    if (result.kind === 'failed' && result.code === 'LICENSE_REDIRECTED' && result.redirectRegion !== undefined && homeRegion === undefined) {
      homeRegion = result.redirectRegion;
      ctx.logger.info({ from: ctx.region, to: homeRegion }, "License Manager redirected the check to the license's home region");
      result = await checkoutLicense(request, deps(ctx, { onAttempt: (a) => (counted(ctx, 'checkout')(a), ctx.onAttempt(a)), ...overrides }));
    }
    if (result.kind === 'aborted') return aborted;
    if (result.kind === 'failed') return outcome(failureOutcome('CheckoutLicense', result));
    const checkout = result.value;
    // Recorded before anything else is asked: a sidecar killed from here on leaves a seat its successor
    // in this pod finds (and reuses or checks in), never one that is held until it expires.
    const taken = seatOf(checkout, grantedOf(checkout.entitlementsAllowed), false, regionOf(ctx));
    await writeSeat(ctx.entitlementFile, taken).catch((err: unknown) => ctx.logger.warn({ err }, 'could not record the seat'));
    const seat = await confirm(ctx, checkout);
    // A checkout that does not entitle the pod, or one interrupted by a stop, holds nothing: it is given back at once.
    if (seat.kind !== 'ok') await checkIn(ctx, taken, CHECK_IN_BUDGET_MS);
    return seat;
  };

  const seatOf = (c: Checkout, entitlements: SeatRecord['entitlements'], verified: boolean, region: string): SeatRecord => ({
    productSku: config.productSku,
    region,
    licenseArn: c.licenseArn,
    consumptionToken: c.consumptionToken,
    checkoutType: c.checkoutType,
    entitlements,
    signedToken: c.signedToken ?? null,
    signedTokenVerified: verified,
    issuedAt: c.issuedAt.toISOString(),
    expiration: c.expiration.toISOString(),
    checkedAt: c.issuedAt.toISOString(),
    licenseEnd: null,
  });

  /** What is checked of a checkout before the pod counts as entitled: the entitlements, the SignedToken, the license itself. */
  const confirm = async (ctx: SourceContext, c: Checkout): Promise<Step<SeatRecord>> => {
    const granted = grantedOf(c.entitlementsAllowed);
    if (granted.length === 0) {
      return outcome({ code: 'NO_LICENSE', message: `CheckoutLicense granted none of the entitlements asked for (${config.entitlements.map((e) => `${e.name}:${e.unit}`).join(', ')}); check their units` });
    }
    let verified = false;
    if (config.signingKey !== undefined) {
      if (c.signedToken === undefined) {
        return outcome({ code: 'TOKEN_INVALID', message: 'CheckoutLicense answered without a SignedToken although MARKETPLACE_LICENSE_PUBLIC_KEY(_FILE) is set: the license is not signed by the configured issuer' });
      }
      try {
        await verifyLicenseToken(c.signedToken, config.signingKey.key.key, { licenseArn: c.licenseArn, productSku: config.productSku }, new Date(ctx.now()));
        verified = true;
      } catch (err) {
        if (!(err instanceof TokenVerificationError)) throw err;
        return outcome({ code: err.code, message: `the license's SignedToken was rejected (${err.reason}): ${err.message}` });
      }
    }
    ctx.mark('called');
    let seat: SeatRecord = { ...seatOf(c, granted, verified, regionOf(ctx)), checkedAt: new Date(ctx.now()).toISOString() };
    const license = await getLicense(c.licenseArn, deps(ctx, { maxAttempts: 2, onAttempt: counted(ctx, 'get') }));
    if (license.kind === 'aborted') return aborted;
    if (license.kind === 'failed') {
      // Could not look now (the checkout itself was pinned to SKU and fingerprint): the watch looks again.
      if (!isUnreachable(license)) return outcome(failureOutcome('GetLicense', license));
      ctx.logger.warn({ code: license.code }, 'GetLicense failed transiently after the checkout; the license is checked again at the next interval');
    } else {
      const problem = judgeLicense(license.value, ctx.now());
      if (problem !== undefined) return outcome(problem);
      seat = { ...seat, licenseEnd: licenseEndOf(license.value) };
    }
    ctx.mark('verified');
    return ok(seat);
  };

  /** A seat recorded by an earlier run in this pod, kept (extended) rather than a second one taken. */
  const reuse = async (ctx: SourceContext): Promise<SeatRecord | undefined> => {
    const found = await readSeat(ctx.entitlementFile, config.productSku);
    if (found.seat === undefined) {
      if (found.why !== undefined) ctx.logger.warn({ why: found.why }, 'the recorded seat cannot be used; checking out anew');
      return undefined;
    }
    const seat = found.seat;
    if (seat.region !== ctx.region) homeRegion = seat.region;
    if (seat.checkoutType === 'PERPETUAL') {
      ctx.logger.info({ licenseArn: seat.licenseArn }, 'reusing the drawdown checkout an earlier run in this pod made (no new units taken)');
      return seat;
    }
    if (Date.parse(seat.expiration) <= ctx.now()) {
      ctx.logger.info({ licenseArn: seat.licenseArn, expiration: seat.expiration }, 'the seat an earlier run in this pod held has returned by itself; checking out anew');
      return undefined;
    }
    const extended = await extendConsumption(seat.consumptionToken, deps(ctx, { maxAttempts: 3, onAttempt: counted(ctx, 'extend') }));
    if (extended.kind !== 'done') {
      ctx.logger.info({ licenseArn: seat.licenseArn, code: extended.kind === 'failed' ? extended.code : 'aborted' }, 'the recorded seat could not be extended; checking out anew');
      return undefined;
    }
    ctx.logger.info({ licenseArn: seat.licenseArn }, 'reusing the seat an earlier run in this pod holds (extended, no second seat)');
    return { ...seat, consumptionToken: extended.value.consumptionToken, expiration: extended.value.expiration.toISOString() };
  };

  return {
    call: 'CheckoutLicense',
    product: config.productSku,
    recordsDenials: false,
    stopBudgetMs: CHECK_IN_BUDGET_MS,
    async acquire(ctx) {
      const reused = await reuse(ctx);
      let seat: SeatRecord;
      if (reused !== undefined) {
        const license = await getLicense(reused.licenseArn, deps(ctx, { maxAttempts: 2, onAttempt: counted(ctx, 'get') }));
        const problem = license.kind === 'done' ? judgeLicense(license.value, ctx.now()) : undefined;
        if (problem !== undefined) {
          await checkIn(ctx, reused, CHECK_IN_BUDGET_MS);
          return outcome(problem);
        }
        seat = license.kind === 'done' ? { ...reused, checkedAt: new Date(ctx.now()).toISOString(), licenseEnd: licenseEndOf(license.value) } : reused;
      } else {
        const fresh = await checkOut(ctx, {});
        if (fresh.kind !== 'ok') return fresh;
        seat = fresh.value;
      }
      await writeSeat(ctx.entitlementFile, seat);
      held = { seat, entitlement: entitlementOf(seat) };
      return ok(held.entitlement);
    },
    watch(ctx, current, events) {
      return startWatch(ctx, current, events);
    },
    async release(ctx, deadline) {
      const seat = held?.seat;
      held = undefined;
      if (seat === undefined || seat.checkoutType !== 'PROVISIONAL') return;
      await checkIn(ctx, seat, Math.max(500, Math.min(CHECK_IN_BUDGET_MS, deadline - ctx.now())));
    },
  };

  function startWatch(startCtx: SourceContext, current: Entitlement | undefined, events: WatchEvents): Watch {
    const interval = config.checkIntervalMs;
    // While running, each check is one attempt (the next comes at the interval, or sooner after a
    // transient failure); the start-up retry deadline does not apply.
    const ctx: SourceContext = { ...startCtx, policy: { ...startCtx.policy, deadlineMs: interval } };
    const at = () => ctx.now();
    // The grace period runs from the last time License Manager confirmed the license.
    let lastGood = held === undefined ? undefined : Date.parse(held.seat.checkedAt);
    let stale: { until: number } | undefined;
    let failures = 0;
    let nextCheckAt = at() + interval;
    let nextCheckoutAt = current === undefined ? at() + interval : Number.POSITIVE_INFINITY;
    let extendAt = held === undefined ? Number.POSITIVE_INFINITY : extendDue(held.seat);
    let running: Promise<void> | undefined;
    const once = { ...deps(ctx), maxAttempts: 1 };

    function extendDue(seat: SeatRecord): number {
      if (seat.checkoutType !== 'PROVISIONAL') return Number.POSITIVE_INFINITY;
      // Halfway to the Expiration the answer gave: never assume the 60 minutes AWS documents.
      const exp = Date.parse(seat.expiration);
      return at() + Math.max(ctx.watchTickMs, (exp - at()) / 2);
    }

    const keep = async (seat: SeatRecord) => {
      held = { seat, entitlement: entitlementOf(seat) };
      await writeSeat(ctx.entitlementFile, seat).catch((err: unknown) => ctx.logger.warn({ err }, 'could not rewrite the seat record'));
    };

    const lose = async (reason: SnapshotInput) => {
      const seat = held?.seat;
      held = undefined;
      stale = undefined;
      lastGood = undefined;
      extendAt = Number.POSITIVE_INFINITY;
      nextCheckAt = Number.POSITIVE_INFINITY;
      nextCheckoutAt = at() + interval;
      if (seat !== undefined) await checkIn(ctx, seat, CHECK_IN_BUDGET_MS);
      await events.lost(reason);
    };

    /**
     * The held license no longer entitles the pod (expired, cancelled): a renewal may have come as another
     * license, so one fresh checkout is tried before the pod loses its entitlement. Found, the old seat is
     * checked in and the pod stays entitled without a gap.
     */
    const replaceOrLose = async (problem: SnapshotInput) => {
      const old = held?.seat;
      // The old seat is worth nothing now; it goes back first, so at no time are two held.
      held = undefined;
      if (old !== undefined) await checkIn(ctx, old, CHECK_IN_BUDGET_MS);
      const fresh = await checkOut(ctx, { maxAttempts: 1 });
      if (fresh.kind !== 'ok') {
        await lose(problem);
        return;
      }
      ctx.logger.info({ from: old?.licenseArn, to: fresh.value.licenseArn }, 'the license was replaced by another (a renewal or a new agreement)');
      await writeSeat(ctx.entitlementFile, fresh.value);
      extendAt = extendDue(fresh.value);
      nextCheckAt = at() + interval;
      await recovered(fresh.value);
    };

    /** License Manager could not be asked: the last good license stays in force for the grace period. */
    const unreachable = async (operation: string, failure: ClassifiedError) => {
      failures++;
      const retryIn = Math.min(interval, backoffDelayMs(failures, ctx.policy.transient, Math.random) + ctx.watchTickMs);
      nextCheckAt = Math.min(nextCheckAt, at() + retryIn);
      if (extendAt !== Number.POSITIVE_INFINITY) extendAt = Math.max(extendAt, at() + retryIn);
      ctx.metrics.record((m) => m.licenseStale.set(1));
      if (stale === undefined && held !== undefined) {
        stale = { until: (lastGood ?? at()) + config.graceMs };
        const why = `${operation}: ${failure.awsError ?? failure.code}: ${failure.detail}`;
        ctx.logger.warn({ operation, code: failure.code, staleUntil: new Date(stale.until).toISOString() }, 'License Manager could not be reached; the last good license stays in force for the grace period');
        await events.stale(entitlementOf(held.seat, stale.until), why, new Date(stale.until));
      }
    };

    const recovered = async (seat: SeatRecord) => {
      failures = 0;
      lastGood = Date.parse(seat.checkedAt);
      const checkedAt = at() / 1000;
      ctx.metrics.record((m) => {
        m.licenseStale.set(0);
        m.licenseChecked.set(checkedAt);
      });
      const was = held?.entitlement;
      await keep(seat);
      const before = was === undefined || was.record.source !== 'license-manager' ? undefined : was.record.entitlements;
      const changed = stale !== undefined || before === undefined || JSON.stringify(before) !== JSON.stringify(seat.entitlements);
      stale = undefined;
      if (held === undefined) return;
      // A change (a new tier, the end of a stale spell) is announced; otherwise the file is rewritten
      // with the new checkedAt and expiration.
      if (changed) await events.entitled(held.entitlement);
      else await events.refreshed(held.entitlement);
    };

    const tick = async () => {
      if (held !== undefined && at() >= extendAt) {
        const r = await extendConsumption(held.seat.consumptionToken, { ...once, onAttempt: counted(ctx, 'extend') });
        if (r.kind === 'done') {
          const seat = { ...held.seat, consumptionToken: r.value.consumptionToken, expiration: r.value.expiration.toISOString() };
          extendAt = extendDue(seat);
          await keep(seat);
          // The file carries the checkout's Expiration: rewritten so the app sees the extension.
          if (stale === undefined) await events.refreshed(entitlementOf(seat));
        } else if (r.kind === 'failed') {
          if (isUnreachable(r)) await unreachable('ExtendLicenseConsumption', r);
          // The seat is gone (returned, or the license cancelled): a fresh checkout decides.
          else {
            await lose(failureOutcome('ExtendLicenseConsumption', r));
            nextCheckoutAt = at();
          }
        }
      }
      if (held !== undefined && at() >= nextCheckAt) {
        const r = await getLicense(held.seat.licenseArn, { ...once, onAttempt: counted(ctx, 'get') });
        if (r.kind === 'done') {
          nextCheckAt = at() + interval;
          const problem = judgeLicense(r.value, at());
          if (problem !== undefined) await replaceOrLose(problem);
          else {
            // An upgrade or renewal arrives as a new version: what it grants of what was asked is the pod's now.
            const granted = grantedOf((r.value.Entitlements ?? []).map((e) => ({ name: String(e.Name ?? ''), unit: String(e.Unit ?? ''), value: e.Value ?? null })));
            if (granted.length === 0) await lose({ code: 'NO_LICENSE', message: `the license ${held.seat.licenseArn} no longer grants any of the entitlements asked for` });
            else await recovered({ ...held.seat, entitlements: mergeGranted(held.seat.entitlements, granted), checkedAt: new Date(at()).toISOString(), licenseEnd: licenseEndOf(r.value) });
          }
        } else if (r.kind === 'failed') {
          if (isUnreachable(r)) await unreachable('GetLicense', r);
          else await lose(failureOutcome('GetLicense', r));
        }
      }
      if (held !== undefined && stale !== undefined && at() >= stale.until) {
        await lose({ code: 'LICENSE_CHECK_FAILED', message: `License Manager could not be reached since the last good check (${new Date(lastGood ?? at()).toISOString()}), longer than ENTITLEMENT_LICENSE_GRACE` });
      }
      if (held === undefined && at() >= nextCheckoutAt) {
        const fresh = await checkOut(ctx, { maxAttempts: 1 });
        if (fresh.kind === 'ok') {
          await writeSeat(ctx.entitlementFile, fresh.value);
          extendAt = extendDue(fresh.value);
          nextCheckAt = at() + interval;
          nextCheckoutAt = Number.POSITIVE_INFINITY;
          await recovered(fresh.value);
        } else if (fresh.kind === 'outcome') {
          nextCheckoutAt = at() + interval;
          await events.lost(fresh.outcome);
        }
      }
    };

    const timer = setInterval(() => {
      if (running !== undefined || ctx.signal.aborted) return;
      running = tick()
        .catch((err: unknown) => ctx.logger.error({ err }, 'license check failed unexpectedly'))
        .finally(() => (running = undefined));
    }, ctx.watchTickMs);
    timer.unref();
    return {
      async stop() {
        clearInterval(timer);
        await running;
      },
    };
  }
}

/** The end of a license's validity, if it has a readable one. */
function licenseEndOf(license: License): string | null {
  const end = license.Validity?.End;
  return end !== undefined && Number.isFinite(Date.parse(end)) ? new Date(Date.parse(end)).toISOString() : null;
}

/** Transient trouble (throttling, a 5xx, the network, a timeout): "could not check", never "no license". */
function isUnreachable(failure: { code: string }): boolean {
  return ['THROTTLED', 'SERVICE_UNAVAILABLE', 'NETWORK_ERROR', 'TIMEOUT', 'DEADLINE_EXCEEDED', 'CREDENTIALS_UNAVAILABLE'].includes(failure.code);
}

/** A seat's entitlements after a check: what the license grants now, keeping the values the checkout took. */
function mergeGranted(held: SeatRecord['entitlements'], granted: readonly { name: string; unit: string; value: string | null }[]): SeatRecord['entitlements'] {
  return granted.map((g) => held.find((h) => h.name === g.name && h.unit === g.unit) ?? { ...g, value: g.unit === 'None' ? null : g.value });
}
