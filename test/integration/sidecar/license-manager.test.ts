/**
 * Contract pricing end to end, in-process: the real sidecar (the one harness, helpers/sidecar.ts) with
 * the real @aws-sdk/client-license-manager over real HTTP against the emulator's License Manager, real
 * files, one stepped clock shared by the emulator, the SDK's signing and the sidecar. Intervals,
 * extensions, expiry and grace are reached by moving that clock, never by sleeping; each wait is for a
 * status change the sidecar announces (or, where nothing is announced, a polled condition).
 */
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Emulator, LicenseSeed } from '../../../src/emulator/index.js';
import { MARKETPLACE_ISSUER } from '../../../src/emulator/index.js';
import type { LicenseRecord } from '../../../src/entitlement/file.js';
import { checkLicenseEntitlementFile } from '../../../src/entitlement/license-file.js';
import type { Snapshot } from '../../../src/entitlement/status.js';
import { seatPathFor } from '../../../src/sidecar/license-seat.js';
import { steppedClock, type SteppedClock } from '../../helpers/clock.js';
import { CREDENTIAL, emulator } from '../../helpers/emulator.js';
import { rsaKeyPair } from '../../helpers/keys.js';
import { licenseClient, startTestSidecar, type TestSidecar, type TestSidecarOptions } from '../../helpers/sidecar.js';
import { switchableProxy } from '../../helpers/switchable-proxy.js';
import { tempDir } from '../../helpers/tmp.js';

const SKU = '7a1c2b3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
const BUYER = CREDENTIAL.accountId;
const MINUTE = 60_000;
const TIERS = 'BasicTier:None,PremiumTier:None';

const tierLicense = (tier: string, o: Partial<LicenseSeed> = {}): LicenseSeed => ({ beneficiaryAccountId: BUYER, productSku: SKU, entitlements: [{ name: tier, unit: 'None' }], ...o });
const seatPool = (seats: number, o: Partial<LicenseSeed> = {}): LicenseSeed => ({ beneficiaryAccountId: BUYER, productSku: SKU, entitlements: [{ name: 'Nodes', unit: 'Count', maxCount: seats }], ...o });

/** Every status change the sidecar announces, and a way to wait for the next one that matches. */
function statusLog() {
  const seen: Snapshot[] = [];
  const waiting: { match: (s: Snapshot) => boolean; resolve: (s: Snapshot) => void }[] = [];
  return {
    seen,
    observe(s: Snapshot) {
      seen.push(s);
      for (const w of waiting.splice(0)) if (w.match(s)) w.resolve(s);
      else waiting.push(w);
    },
    /** The next announced status (after this call) that matches; fails the test after 10 s. */
    next(match: (s: Snapshot) => boolean, what: string): Promise<Snapshot> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the sidecar never announced ${what}; it announced ${seen.map((s) => s.code).join(', ')}`)), 10_000);
        waiting.push({ match, resolve: (s) => (clearTimeout(timer), resolve(s)) });
      });
    },
  };
}

interface Pod extends TestSidecar {
  readonly log: ReturnType<typeof statusLog>;
  record(): LicenseRecord;
}

/** A pod's sidecar for a contract product against `emu`, on `clock`. */
async function contractPod(
  emu: Emulator,
  clock: SteppedClock,
  o: { dir?: string; settings?: Record<string, string>; licenseClient?: TestSidecarOptions['licenseClient'] } = {},
): Promise<Pod> {
  const log = statusLog();
  const t = await startTestSidecar(emu, {
    ...(o.dir === undefined ? {} : { dir: o.dir }),
    now: clock.now,
    tuning: { watchTickMs: 5 },
    licenseClient: o.licenseClient ?? ((region) => licenseClient(emu, { region, now: clock.date })),
    settings: { ENTITLEMENT_SOURCE: 'license-manager', MARKETPLACE_PRODUCT_SKU: SKU, MARKETPLACE_LICENSE_ENTITLEMENTS: TIERS, ...o.settings },
    observers: [log.observe],
  });
  return { ...t, log, record: () => JSON.parse(readFileSync(t.file, 'utf8')) as LicenseRecord };
}

const inUse = (emu: Emulator, name = 'Nodes') => emu.licenses().flatMap((l) => l.entitlements).find((e) => e.name === name)?.inUse;
const activeSeats = (emu: Emulator) => emu.consumptions().filter((c) => c.active).length;

describe('tiers: the app learns which tier the buyer bought', () => {
  it('writes the granted tier, not only "yes", and /healthz says the same', async () => {
    const clock = steppedClock();
    const emu = await emulator({}, { now: clock.date, licenses: [tierLicense('PremiumTier')] });
    const pod = await contractPod(emu, clock);
    expect(pod.snapshot).toMatchObject({ status: 'entitled', code: 'ENTITLED' });
    const record = pod.record();
    const [license] = emu.licenses();
    expect(record).toMatchObject({
      source: 'license-manager',
      productSku: SKU,
      licenseArn: license?.licenseArn,
      checkoutType: 'PROVISIONAL',
      keyFingerprint: MARKETPLACE_ISSUER.keyFingerprint,
      entitlements: [{ name: 'PremiumTier', unit: 'None', value: null }],
      stale: false,
      signedToken: null,
      signedTokenVerified: false,
    });
    // The file vouches until the seat's expiration the emulator gave (an hour), on the test clock.
    const [seat] = emu.consumptions();
    expect(record.expiration).toBe(seat?.expiration);
    expect(Date.parse(record.checkedAt)).toBeLessThanOrEqual(clock.now());
    expect(statSync(pod.file).mode & 0o777).toBe(0o644);
    expect(statSync(seatPathFor(pod.file)).mode & 0o777).toBe(0o600);
    const h = await pod.healthz();
    expect(h.status).toBe(200);
    expect(h.body.entitlement).toMatchObject({ source: 'license-manager', productSku: SKU, entitlements: [{ name: 'PremiumTier', unit: 'None', value: null }], stale: false, entitlementFile: pod.file });
    expect(h.body.entitlement).not.toHaveProperty('signedToken');
    expect(h.body.entitlement).not.toHaveProperty('keyFingerprint');
    // What an app does with it.
    await expect(checkLicenseEntitlementFile(pod.file, { productSku: SKU, now: clock.date() })).resolves.toMatchObject({ entitlements: [{ name: 'PremiumTier' }] });
    expect(await pod.metrics()).toMatch(/marketplace_entitlement_license_calls_total\{operation="checkout",outcome="[A-Z_]+"\} 1/);
  });

  it('sees an upgrade at the next check, without a restart, and rewrites the file', async () => {
    const clock = steppedClock();
    const emu = await emulator({}, { now: clock.date, licenses: [tierLicense('BasicTier')] });
    const pod = await contractPod(emu, clock);
    expect(pod.record().entitlements).toEqual([{ name: 'BasicTier', unit: 'None', value: null }]);
    const [license] = emu.licenses();
    emu.putLicense(tierLicense('PremiumTier', { licenseArn: license?.licenseArn }));
    expect(emu.licenses()[0]?.version).toBe(2);
    // Nothing changes before the interval.
    clock.advance(14 * MINUTE);
    const upgraded = pod.log.next((s) => s.code === 'ENTITLED' && s.entitlement?.source === 'license-manager' && s.entitlement.entitlements.some((e) => e.name === 'PremiumTier'), 'the upgrade');
    clock.advance(MINUTE);
    await upgraded;
    expect(pod.record().entitlements).toEqual([{ name: 'PremiumTier', unit: 'None', value: null }]);
    expect(Date.parse(pod.record().checkedAt)).toBeGreaterThanOrEqual(clock.now() - MINUTE);
    expect(activeSeats(emu)).toBe(1);
  });

  it('extends the seat before its expiration and rewrites the file with the new one (never assumes 60 minutes)', async () => {
    const clock = steppedClock();
    // A 10-minute checkout: the sidecar must extend at 5 minutes, although it checks the license every 15.
    const emu = await emulator({}, { now: clock.date, licenses: [tierLicense('PremiumTier')], consumptionTtlSeconds: 600 });
    const pod = await contractPod(emu, clock);
    const first = pod.record().expiration;
    for (let i = 0; i < 6; i++) {
      const before = emu.consumptions()[0]?.expiration;
      clock.advance(5 * MINUTE + 1000);
      await expect.poll(() => emu.consumptions()[0]?.expiration, { timeout: 10_000 }).not.toBe(before);
    }
    // Thirty minutes on, three times past a 10-minute expiry: still one seat, still held, the file current.
    expect(emu.consumptions().filter((c) => c.active)).toHaveLength(1);
    await expect.poll(() => pod.record().expiration, { timeout: 10_000 }).toBe(emu.consumptions()[0]?.expiration);
    expect(Date.parse(pod.record().expiration)).toBeGreaterThan(Date.parse(first));
    expect(Date.parse(pod.record().expiration)).toBeGreaterThan(clock.now());
    expect(pod.log.seen.map((s) => s.code)).toEqual(['ENTITLED']);
  });
});

describe('floating seats: one per pod, never two, never leaked', () => {
  it('a pool of two and three pods: two entitled, the third waits and is entitled once another stops', async () => {
    const clock = steppedClock();
    const emu = await emulator({}, { now: clock.date, licenses: [seatPool(2)] });
    const settings = { MARKETPLACE_LICENSE_ENTITLEMENTS: 'Nodes:Count:1' };
    const a = await contractPod(emu, clock, { settings });
    const b = await contractPod(emu, clock, { settings });
    const c = await contractPod(emu, clock, { settings });
    expect([a.snapshot.code, b.snapshot.code]).toEqual(['ENTITLED', 'ENTITLED']);
    expect(c.snapshot).toMatchObject({ status: 'not_entitled', code: 'NO_LICENSE' });
    expect(c.snapshot.action).toMatch(/Buy or renew/);
    expect(existsSync(c.file)).toBe(false);
    expect(a.record().entitlements).toEqual([{ name: 'Nodes', unit: 'Count', value: '1' }]);
    expect(inUse(emu)).toBe(2);

    // Pod a stops (SIGTERM's path): its seat is checked in at once, not left to expire.
    await a.stop();
    expect(inUse(emu)).toBe(1);
    expect(existsSync(seatPathFor(a.file))).toBe(false);
    const entitled = c.log.next((s) => s.code === 'ENTITLED', 'the third pod entitled');
    clock.advance(15 * MINUTE);
    await entitled;
    expect(inUse(emu)).toBe(2);
    expect(c.record().entitlements).toEqual([{ name: 'Nodes', unit: 'Count', value: '1' }]);
  });

  it('a sidecar restarted in the same pod reuses its recorded seat instead of taking a second one', async () => {
    const clock = steppedClock();
    const emu = await emulator({}, { now: clock.date, licenses: [seatPool(1)] });
    const dir = tempDir();
    const settings = { MARKETPLACE_LICENSE_ENTITLEMENTS: 'Nodes:Count:1' };
    const first = await contractPod(emu, clock, { dir, settings });
    // A crash leaves the seat record behind; here the record is copied aside before the clean stop
    // checks the seat in, and put back, as if the sidecar had been killed (the process test kills it for real).
    const record = readFileSync(seatPathFor(first.file));
    emu.setScenario({ faultOperations: ['CheckInLicense'], internalError: 10 });
    await first.stop();
    writeFileSync(seatPathFor(first.file), record, { mode: 0o600 });
    emu.setScenario({ internalError: 0, faultOperations: null });
    expect(activeSeats(emu)).toBe(1);

    const second = await contractPod(emu, clock, { dir, settings });
    expect(second.snapshot.code).toBe('ENTITLED');
    expect(emu.consumptions().filter((c) => c.active)).toHaveLength(1);
    expect(emu.consumptions()).toHaveLength(1);
    expect(second.logs.lines.some((l) => l.msg.includes('reusing the seat an earlier run in this pod holds'))).toBe(true);
  });
});

describe('drawdown: units consumed for good, once per pod', () => {
  it('takes the quantity at the first start, not again at a restart in the same pod, and refuses once the pool is spent', async () => {
    const clock = steppedClock();
    const emu = await emulator({}, { now: clock.date, licenses: [{ beneficiaryAccountId: BUYER, productSku: SKU, entitlements: [{ name: 'DataGB', unit: 'Gigabytes', maxCount: 25, allowCheckIn: false }] }] });
    const settings = { MARKETPLACE_LICENSE_ENTITLEMENTS: 'DataGB:Gigabytes:10', MARKETPLACE_LICENSE_CHECKOUT_TYPE: 'PERPETUAL' };
    const consumed = () => emu.licenses()[0]?.entitlements[0]?.consumed;
    const dir = tempDir();
    const a = await contractPod(emu, clock, { dir, settings });
    expect(a.snapshot.code).toBe('ENTITLED');
    expect(a.record()).toMatchObject({ checkoutType: 'PERPETUAL', entitlements: [{ name: 'DataGB', unit: 'Gigabytes', value: '10' }] });
    expect(consumed()).toBe(10);
    // The file of a drawdown vouches for two check intervals from its last check.
    expect(Date.parse(a.record().expiration)).toBe(Date.parse(a.record().checkedAt) + 30 * MINUTE);
    await a.stop();
    expect(existsSync(seatPathFor(a.file))).toBe(true);
    const again = await contractPod(emu, clock, { dir, settings });
    expect(again.snapshot.code).toBe('ENTITLED');
    expect(consumed()).toBe(10);
    await again.stop();

    expect((await contractPod(emu, clock, { settings })).snapshot.code).toBe('ENTITLED');
    expect(consumed()).toBe(20);
    const spent = await contractPod(emu, clock, { settings });
    expect(spent.snapshot).toMatchObject({ status: 'not_entitled', code: 'NO_LICENSE' });
    expect(consumed()).toBe(20);
  });
});

describe('no license is not first-call-only', () => {
  it('a pod without a license becomes entitled when the buyer subscribes, without a restart', async () => {
    const clock = steppedClock();
    const emu = await emulator({}, { now: clock.date });
    const pod = await contractPod(emu, clock);
    expect(pod.snapshot).toMatchObject({ status: 'not_entitled', code: 'NO_LICENSE', awsError: 'NoEntitlementsAllowedException' });
    expect(pod.snapshot.message).toContain(`asked for ${TIERS.replace(',', ', ')}`);
    emu.putLicense(tierLicense('BasicTier'));
    const entitled = pod.log.next((s) => s.code === 'ENTITLED', 'entitled after the purchase');
    clock.advance(15 * MINUTE);
    await entitled;
    expect(pod.record().entitlements).toEqual([{ name: 'BasicTier', unit: 'None', value: null }]);
    expect(existsSync(`${pod.file}.denied`)).toBe(false);
  });

  it.each([
    ['a license with the wrong unit', [seatPool(5)], 'Nodes:None', /granted none|NoEntitlementsAllowed/],
    ['a license for another product', [tierLicense('PremiumTier', { productSku: '00000000-0000-4000-8000-000000000000' })], TIERS, /NoEntitlementsAllowed|ResourceNotFound/],
    ['a license the buyer issued to themselves (another issuer fingerprint)', [tierLicense('PremiumTier', { issuer: { name: 'Buyer Inc', keyFingerprint: 'aws:111122223333:buyer:issuer-fingerprint' } })], TIERS, /NoEntitlementsAllowed|ResourceNotFound/],
    ["another account's license", [tierLicense('PremiumTier', { beneficiaryAccountId: '999988887777' })], TIERS, /NoEntitlementsAllowed|ResourceNotFound/],
  ])('%s: NO_LICENSE, nothing held', async (_name, licenses, asked, message) => {
    const clock = steppedClock();
    const emu = await emulator({}, { now: clock.date, licenses });
    const pod = await contractPod(emu, clock, { settings: { MARKETPLACE_LICENSE_ENTITLEMENTS: asked } });
    expect(pod.snapshot).toMatchObject({ status: 'not_entitled', code: 'NO_LICENSE' });
    expect(pod.snapshot.message).toMatch(message);
    expect(activeSeats(emu)).toBe(0);
    expect(existsSync(pod.file)).toBe(false);
    expect(existsSync(seatPathFor(pod.file))).toBe(false);
  });
});

describe('a license that ends while the pod runs', () => {
  it.each([
    ['expires (its validity ends)', 'LICENSE_EXPIRED', (emu: Emulator) => void emu],
    ['is suspended', 'LICENSE_INACTIVE', (emu: Emulator) => void emu.setLicenseStatus(emu.licenses()[0]?.licenseArn as string, 'SUSPENDED')],
    ['is deactivated', 'LICENSE_INACTIVE', (emu: Emulator) => void emu.setLicenseStatus(emu.licenses()[0]?.licenseArn as string, 'DEACTIVATED')],
  ])('%s: not entitled at the next check, the file removed, the seat checked in', async (name, code, change) => {
    const clock = steppedClock();
    const end = name.startsWith('expires') ? new Date(clock.now() + 20 * MINUTE).toISOString() : undefined;
    const emu = await emulator({}, { now: clock.date, licenses: [tierLicense('PremiumTier', end === undefined ? {} : { validity: { begin: clock.date().toISOString(), end } })] });
    const pod = await contractPod(emu, clock);
    expect(pod.snapshot.code).toBe('ENTITLED');
    if (end !== undefined) expect(pod.record().expiration <= end).toBe(true);
    change(emu);
    const lost = pod.log.next((s) => s.code === code, code);
    clock.advance(end === undefined ? 15 * MINUTE : 30 * MINUTE);
    const s = await lost;
    expect(s.status).toBe('not_entitled');
    expect(existsSync(pod.file)).toBe(false);
    expect(activeSeats(emu)).toBe(0);
  });

  it('a renewal that comes as another license is followed without a gap', async () => {
    const clock = steppedClock();
    const emu = await emulator({}, { now: clock.date, licenses: [tierLicense('BasicTier')] });
    const pod = await contractPod(emu, clock);
    const old = emu.licenses()[0]?.licenseArn as string;
    emu.setLicenseStatus(old, 'EXPIRED');
    emu.putLicense(tierLicense('PremiumTier'));
    const renewed = pod.log.next((s) => s.code === 'ENTITLED' && s.entitlement?.source === 'license-manager' && s.entitlement.licenseArn !== old, 'the new license');
    clock.advance(15 * MINUTE);
    await renewed;
    expect(pod.log.seen.map((s) => s.status)).toEqual(['entitled', 'entitled']);
    expect(pod.record().entitlements).toEqual([{ name: 'PremiumTier', unit: 'None', value: null }]);
    expect(emu.consumptions().filter((c) => c.active).map((c) => c.licenseArn)).not.toContain(old);
    expect(activeSeats(emu)).toBe(1);
  });
});

describe('"could not check" is not "no license": the grace period', () => {
  it('keeps the last good license in force, stale, while License Manager is unreachable, then recovers when it answers again', async () => {
    const clock = steppedClock();
    const emu = await emulator({}, { now: clock.date, licenses: [tierLicense('PremiumTier')] });
    const proxy = await switchableProxy(emu.url);
    const pod = await contractPod(emu, clock, { licenseClient: (region) => licenseClient({ url: proxy.url }, { region, now: clock.date }) });
    expect(pod.snapshot.code).toBe('ENTITLED');

    await proxy.down();
    const stale = pod.log.next((s) => s.code === 'LICENSE_STALE', 'LICENSE_STALE');
    clock.advance(15 * MINUTE);
    const s = await stale;
    expect(s.status).toBe('entitled');
    expect(s.message).toMatch(/NETWORK_ERROR|ECONNREFUSED/);
    const h = await pod.healthz();
    expect(h.status).toBe(200);
    expect(h.body).toMatchObject({ status: 'entitled', code: 'LICENSE_STALE', entitlement: { stale: true } });
    expect(pod.record().stale).toBe(true);
    // While stale, the file vouches until the grace period ends: past the seat's own expiration.
    expect(Date.parse(pod.record().expiration)).toBe(Date.parse(pod.record().checkedAt) + 24 * 60 * MINUTE);
    expect(await pod.metrics()).toMatch(/^marketplace_entitlement_license_stale 1$/m);

    await proxy.up();
    const back = pod.log.next((s) => s.code === 'ENTITLED', 'entitled again');
    clock.advance(15 * MINUTE);
    await back;
    expect(pod.record().stale).toBe(false);
    expect(await pod.metrics()).toMatch(/^marketplace_entitlement_license_stale 0$/m);
    expect(activeSeats(emu)).toBe(1);
  });

  it('ends the grace period after ENTITLEMENT_LICENSE_GRACE with LICENSE_CHECK_FAILED, and recovers by itself later', async () => {
    const clock = steppedClock();
    const emu = await emulator({}, { now: clock.date, licenses: [tierLicense('PremiumTier')] });
    const proxy = await switchableProxy(emu.url);
    const pod = await contractPod(emu, clock, { settings: { ENTITLEMENT_LICENSE_GRACE: '1h' }, licenseClient: (region) => licenseClient({ url: proxy.url }, { region, now: clock.date }) });
    await proxy.down();
    const stale = pod.log.next((s) => s.code === 'LICENSE_STALE', 'LICENSE_STALE');
    clock.advance(15 * MINUTE);
    await stale;
    const failed = pod.log.next((s) => s.code === 'LICENSE_CHECK_FAILED', 'LICENSE_CHECK_FAILED');
    clock.advance(50 * MINUTE);
    const f = await failed;
    expect(f.status).toBe('failed');
    expect(existsSync(pod.file)).toBe(false);

    await proxy.up();
    const back = pod.log.next((s) => s.code === 'ENTITLED', 'entitled again');
    clock.advance(15 * MINUTE);
    await back;
    expect(pod.record().stale).toBe(false);
    // The seat the pod held before the outage has expired; at no moment are two held.
    expect(activeSeats(emu)).toBe(1);
  });

  it('throttling and server errors while running are "could not check" too', async () => {
    const clock = steppedClock();
    const emu = await emulator({}, { now: clock.date, licenses: [tierLicense('PremiumTier')] });
    const pod = await contractPod(emu, clock);
    emu.setScenario({ throttle: 1000, faultOperations: ['GetLicense'] });
    const stale = pod.log.next((s) => s.code === 'LICENSE_STALE', 'LICENSE_STALE');
    clock.advance(15 * MINUTE);
    expect((await stale).message).toMatch(/RateLimitExceededException/);
    emu.setScenario({ throttle: 0, internalError: 0, faultOperations: null });
    const back = pod.log.next((s) => s.code === 'ENTITLED', 'entitled again');
    clock.advance(15 * MINUTE);
    await back;
  });
});

describe('start-up answers', () => {
  it('retries throttling and server errors of CheckoutLicense with backoff, taking one seat', async () => {
    const clock = steppedClock();
    const emu = await emulator({ throttle: 2, internalError: 2, faultOperations: ['CheckoutLicense'] }, { now: clock.date, licenses: [seatPool(1)] });
    const pod = await contractPod(emu, clock, { settings: { MARKETPLACE_LICENSE_ENTITLEMENTS: 'Nodes:Count:1' } });
    expect(pod.snapshot.code).toBe('ENTITLED');
    expect(emu.calls().filter((c) => c.operation === 'CheckoutLicense')).toHaveLength(5);
    expect(inUse(emu)).toBe(1);
  });

  it.each([
    ['AuthorizationException', 'LICENSE_ACCESS_DENIED', /license-manager:/],
    ['AccessDeniedException', 'LICENSE_ACCESS_DENIED', /license-manager:/],
  ] as const)('%s (the node role instead of IRSA): misconfigured with the IAM actions to grant', async (error, code, action) => {
    const clock = steppedClock();
    const emu = await emulator({ authorizationErrors: { [CREDENTIAL.accessKeyId]: error } }, { now: clock.date, licenses: [tierLicense('PremiumTier')] });
    const pod = await contractPod(emu, clock);
    expect(pod.snapshot).toMatchObject({ status: 'misconfigured', code, awsError: error });
    expect(pod.snapshot.action).toMatch(action);
  });

  it("follows a RedirectException to the license's home region", async () => {
    const clock = steppedClock();
    const arn = 'arn:aws:license-manager::294406891311:license:l-0123456789abcdef0123456789abcdef';
    const home = 'eu-west-1';
    const local = await emulator({}, { now: clock.date, licenses: [tierLicense('PremiumTier', { licenseArn: arn, homeRegion: home })] });
    const remote = await emulator({}, { now: clock.date, region: home, licenses: [tierLicense('PremiumTier', { licenseArn: arn })] });
    const pod = await contractPod(local, clock, { licenseClient: (region) => licenseClient(region === home ? remote : local, { region, now: clock.date }) });
    expect(pod.snapshot.code).toBe('ENTITLED');
    expect(activeSeats(remote)).toBe(1);
    expect(activeSeats(local)).toBe(0);
    expect(pod.logs.lines.some((l) => l.msg.includes('redirected') && l.to === home)).toBe(true);
  });

  it('with the issuer key, verifies the SignedToken (PS384) and records that it did', async () => {
    const clock = steppedClock();
    const emu = await emulator({}, { now: clock.date, licenses: [tierLicense('PremiumTier', { signed: true })] });
    const pod = await contractPod(emu, clock, { settings: { MARKETPLACE_LICENSE_PUBLIC_KEY: emu.licenseIssuerPublicKeyPem } });
    expect(pod.snapshot.code).toBe('ENTITLED');
    const record = pod.record();
    expect(record.signedTokenVerified).toBe(true);
    expect(record.signedToken).toMatch(/^eyJ/);
    await expect(checkLicenseEntitlementFile(pod.file, { productSku: SKU, licensePublicKey: emu.licenseIssuerPublicKeyPem, now: clock.date() })).resolves.toMatchObject({ signedTokenVerified: true });
  });

  it.each([
    ['signed by another key', { signed: true }, () => rsaKeyPair().publicPem, 'TOKEN_INVALID'],
    ['not signed at all', {}, (emu: Emulator) => emu.licenseIssuerPublicKeyPem, 'TOKEN_INVALID'],
  ] as const)('with the issuer key, refuses a license %s and gives the seat back', async (_name, seed, key, code) => {
    const clock = steppedClock();
    const emu = await emulator({}, { now: clock.date, licenses: [seatPool(1, seed)] });
    const pod = await contractPod(emu, clock, { settings: { MARKETPLACE_LICENSE_ENTITLEMENTS: 'Nodes:Count:1', MARKETPLACE_LICENSE_PUBLIC_KEY: key(emu) } });
    expect(pod.snapshot).toMatchObject({ status: 'not_entitled', code });
    expect(inUse(emu)).toBe(0);
  });

  it('warns that an overridden License Manager endpoint is not AWS when licenses are not signed', async () => {
    const clock = steppedClock();
    const emu = await emulator({}, { now: clock.date, licenses: [tierLicense('PremiumTier')] });
    const pod = await startTestSidecar(emu, {
      now: clock.now,
      env: { AWS_ENDPOINT_URL_LICENSE_MANAGER: `http://user:secret@127.0.0.1:1/?token=x` },
      licenseClient: (region) => licenseClient(emu, { region, now: clock.date }),
      settings: { ENTITLEMENT_SOURCE: 'license-manager', MARKETPLACE_PRODUCT_SKU: SKU, MARKETPLACE_LICENSE_ENTITLEMENTS: TIERS },
    });
    const warning = pod.logs.lines.find((l) => l.level === 'warn' && l.msg.includes('overridden endpoint'));
    expect(warning).toMatchObject({ endpoint: 'http://127.0.0.1:1' });
    expect(JSON.stringify(pod.logs.lines)).not.toContain('secret');
  });
});
