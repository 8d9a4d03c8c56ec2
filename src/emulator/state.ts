/**
 * Everything the emulator remembers between calls: the scenario, counts per operation and outcome,
 * the callers that have already made their first call, the most recent calls, the accepted metering
 * records, the SaaS customers with their registration tokens, License Manager's licenses, checkouts
 * and tokens, and STS's roles and temporary credentials.
 * One instance per emulator, owned by it; nothing here is module-global.
 */
import { ConsumptionLedger } from './license-manager/consumptions.js';
import { LicenseTokens } from './license-manager/license-tokens.js';
import { LicenseRegistry } from './license-manager/licenses.js';
import type { LicenseRecord } from './license-manager/seeds.js';
import { CustomerRegistry } from './metering/customers.js';
import type { SubscribedCustomer } from './metering/customers.js';
import { MeteringRecords } from './metering/records.js';
import { applyScenario, DEFAULT_SCENARIO, mergeScenario } from './scenario.js';
import { RoleRegistry, type RoleView } from './sts/roles.js';
import { SessionRegistry } from './sts/sessions.js';
import type { Scenario } from './scenario.js';

export const MAX_CALLS_KEPT = 1000;

/** `success` or the error code that was answered. */
export type Outcome = 'success' | string;

export interface CallRecord {
  /** ISO 8601 time from the emulator's clock. */
  readonly time: string;
  readonly requestId: string;
  readonly operation: string;
  readonly outcome: Outcome;
  /** The SigV4 access key id, or null when the request never got that far. */
  readonly caller: string | null;
  readonly productCode: string | null;
  readonly nonce: string | null;
  /** The header names the client signed (handy to see what a client really signs). */
  readonly signedHeaders: readonly string[];
}

export type Counts = Record<string, Record<Outcome, number>>;

export interface EmulatorState {
  readonly scenario: Scenario;
  readonly counts: Counts;
  readonly knownCallers: number;
  readonly totalCalls: number;
}

export class EmulatorStore {
  private current: Scenario;
  private counts: Counts = {};
  private total = 0;
  private calls: CallRecord[] = [];
  /** Callers (access key + session token hash) whose first RegisterUsage or MeterUsage call has been decided. */
  readonly callers = new Set<string>();
  readonly records = new MeteringRecords();
  readonly customers: CustomerRegistry;
  readonly licenses: LicenseRegistry;
  readonly consumptions = new ConsumptionLedger();
  readonly licenseTokens = new LicenseTokens();
  readonly roles: RoleRegistry;
  readonly sessions = new SessionRegistry();

  constructor(
    initial: Partial<Scenario> | undefined,
    customers: readonly SubscribedCustomer[] = [],
    licenses: readonly Omit<LicenseRecord, 'version'>[] = [],
    roles: readonly RoleView[] = [],
  ) {
    this.current = mergeScenario(DEFAULT_SCENARIO, initial ?? {});
    this.customers = new CustomerRegistry(customers);
    this.licenses = new LicenseRegistry(licenses);
    this.roles = new RoleRegistry(roles);
  }

  scenario(): Scenario {
    return applyScenario(this.current, {});
  }

  /** Validates and applies a partial scenario; throws a TypeError naming every bad field. */
  setScenario(patch: unknown): Scenario {
    this.current = mergeScenario(this.current, patch);
    return this.scenario();
  }

  /** Consumes one injected fault of the given kind; true when this call must fail with it. */
  consume(kind: 'throttle' | 'internalError' | 'unprocessed'): boolean {
    if (this.current[kind] <= 0) return false;
    this.current[kind] -= 1;
    return true;
  }

  record(call: CallRecord): void {
    const byOutcome = (this.counts[call.operation] ??= {});
    byOutcome[call.outcome] = (byOutcome[call.outcome] ?? 0) + 1;
    this.total += 1;
    this.calls.push(call);
    // Amortised trimming: drop the overflow in one splice once it reaches a tenth of the limit.
    if (this.calls.length > MAX_CALLS_KEPT + MAX_CALLS_KEPT / 10) this.calls.splice(0, this.calls.length - MAX_CALLS_KEPT);
  }

  recentCalls(): CallRecord[] {
    return this.calls.slice(-MAX_CALLS_KEPT);
  }

  state(): EmulatorState {
    const counts: Counts = {};
    for (const [op, byOutcome] of Object.entries(this.counts)) counts[op] = { ...byOutcome };
    return { scenario: this.scenario(), counts, knownCallers: this.callers.size, totalCalls: this.total };
  }

  /**
   * Forgets counts, calls, callers, metering records, ClientTokens, issued registration tokens (and the
   * customers they subscribed), checkouts, license and access tokens, STS credentials, and licenses and
   * roles put or changed since start (the seeded ones come back as they were seeded), and clears
   * pending injected faults; the rest of the scenario stays.
   */
  reset(): void {
    this.counts = {};
    this.total = 0;
    this.calls = [];
    this.callers.clear();
    this.records.reset();
    this.customers.reset();
    this.licenses.reset();
    this.consumptions.reset();
    this.licenseTokens.reset();
    this.roles.reset();
    this.sessions.reset();
    this.current = applyScenario(this.current, { throttle: 0, internalError: 0, unprocessed: 0 });
  }
}
