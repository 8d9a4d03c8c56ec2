/**
 * Checkouts (license consumptions) and the CheckoutLicense ClientTokens seen. Nothing here runs on a
 * timer: whether a PROVISIONAL checkout still holds its units is decided from the emulator's clock
 * whenever someone asks, so a test moves its clock past `Expiration` and the seats are back.
 *
 *   PROVISIONAL  units held until Expiration (extendable) or CheckInLicense, whichever comes first
 *   PERPETUAL    units spent for good (drawdown); the checkout cannot be checked in
 */
import type { CheckoutType, EntitlementUnit } from './shapes.js';
import type { EntitlementUse } from './licenses.js';

/** One entitlement a checkout took. */
export interface TakenEntitlement {
  readonly name: string;
  readonly unit: EntitlementUnit;
  /** As the request sent it (null when it sent none). */
  readonly value: string | null;
  /** Units taken from the pool (0 for a tier, or an entitlement without a pool). */
  readonly units: number;
}

export interface Consumption {
  readonly token: string;
  readonly licenseArn: string;
  readonly accountId: string;
  readonly checkoutType: CheckoutType;
  readonly entitlements: readonly TakenEntitlement[];
  readonly nodeId: string | null;
  /** Epoch ms. */
  readonly issuedAt: number;
  /** Epoch ms; moved by ExtendLicenseConsumption. */
  expiresAt: number;
  checkedIn: boolean;
}

/** A checkout as tests see it (`consumptions()`, `GET /_emulator/consumptions`). */
export interface ConsumptionView {
  readonly token: string;
  readonly licenseArn: string;
  readonly accountId: string;
  readonly checkoutType: CheckoutType;
  readonly entitlements: readonly TakenEntitlement[];
  readonly nodeId: string | null;
  readonly issuedAt: string;
  readonly expiration: string;
  readonly checkedIn: boolean;
  /** Still holds its units (PROVISIONAL: neither expired nor checked in; PERPETUAL: always). */
  readonly active: boolean;
}

/** What a ClientToken was first used for, and the answer it got. */
interface Remembered {
  readonly request: string;
  readonly response: Record<string, unknown>;
}

export class ConsumptionLedger {
  private byToken = new Map<string, Consumption>();
  private clientTokens = new Map<string, Remembered>();

  add(c: Consumption): void {
    this.byToken.set(c.token, c);
  }

  find(token: string): Consumption | undefined {
    return this.byToken.get(token);
  }

  /** Whether the checkout still holds its units at `now`. */
  static holds(c: Consumption, now: number): boolean {
    return c.checkoutType === 'PERPETUAL' || (!c.checkedIn && now < c.expiresAt);
  }

  /** Units of one entitlement of one license taken at `now`. */
  use(licenseArn: string, entitlement: string, now: number): EntitlementUse {
    let inUse = 0;
    let consumed = 0;
    for (const c of this.byToken.values()) {
      if (c.licenseArn !== licenseArn) continue;
      const units = c.entitlements.filter((e) => e.name === entitlement).reduce((sum, e) => sum + e.units, 0);
      if (c.checkoutType === 'PERPETUAL') consumed += units;
      else if (ConsumptionLedger.holds(c, now)) inUse += units;
    }
    return { inUse, consumed };
  }

  clientToken(key: string): Remembered | undefined {
    return this.clientTokens.get(key);
  }

  rememberClientToken(key: string, request: string, response: Record<string, unknown>): void {
    this.clientTokens.set(key, { request, response });
  }

  /** Every checkout since start (or reset), oldest first. */
  views(now: number): ConsumptionView[] {
    return [...this.byToken.values()].map((c) => ({
      token: c.token,
      licenseArn: c.licenseArn,
      accountId: c.accountId,
      checkoutType: c.checkoutType,
      entitlements: c.entitlements.map((e) => ({ ...e })),
      nodeId: c.nodeId,
      issuedAt: new Date(c.issuedAt).toISOString(),
      expiration: new Date(c.expiresAt).toISOString(),
      checkedIn: c.checkedIn,
      active: ConsumptionLedger.holds(c, now),
    }));
  }

  reset(): void {
    this.byToken.clear();
    this.clientTokens.clear();
  }
}
