import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startKubernetesStatus } from '../../../src/k8s/index.js';
import { kubernetesMetricsOn } from '../../../src/k8s/metrics.js';
import { EntitlementState, type Snapshot } from '../../../src/sidecar/state.js';
import {
  capturedLogger,
  makePki,
  manualClock,
  podEnv,
  SA_TOKEN,
  serviceAccountDir,
  startFakeApiServer,
  unusedPort,
  until,
  value,
  type ApiMode,
  type FakeApiServer,
  type Pki,
} from '../../helpers/fake-apiserver.js';

let pki: Pki;
let saRoot: string;
let wrongCaRoot: string;
const cleanups: (() => Promise<void> | void)[] = [];

beforeAll(() => {
  pki = makePki();
  saRoot = serviceAccountDir(mkdtempSync(join(tmpdir(), 'k8s-sa-')), pki);
  // A pod whose ca.crt is some other cluster's: the client must refuse the fake server's certificate.
  const other = makePki();
  wrongCaRoot = serviceAccountDir(mkdtempSync(join(tmpdir(), 'k8s-sa-')), other);
  other.remove();
});
afterAll(() => {
  pki.remove();
  for (const dir of [saRoot, wrongCaRoot]) rmSync(dir, { recursive: true, force: true });
});
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

const ERRORS = 'marketplace_entitlement_kubernetes_api_errors_total';
const REQUESTS = 'marketplace_entitlement_kubernetes_api_requests_total';

async function server(mode: ApiMode): Promise<FakeApiServer> {
  const s = await startFakeApiServer(pki, mode);
  cleanups.push(() => s.close());
  return s;
}

function start(port: number, o: { timeoutMs?: number; prefix?: string } = {}) {
  const logs = capturedLogger();
  const registry = new Registry();
  const clock = manualClock();
  const status = startKubernetesStatus({
    mode: 'auto',
    env: podEnv(port),
    logger: logs.logger,
    metrics: kubernetesMetricsOn(registry),
    serviceAccountPrefix: o.prefix ?? saRoot,
    now: clock.now,
    requestTimeoutMs: o.timeoutMs ?? 2_000,
  });
  const state = new EntitlementState(() => clock.now().getTime());
  state.subscribe(status.observer);
  const warnings = () => logs.lines.filter((l) => l.level === 'warn' && l.module === 'k8s');
  return { logs, registry, clock, status, state, warnings };
}

describe('when the Kubernetes API refuses or is gone', () => {
  it('403: one warning per kind of failure naming the missing permission, every failure counted, the observer never throws', async () => {
    const api = await server('forbidden');
    const { registry, clock, status, state, warnings, logs } = start(api.port);
    const decisions: Snapshot[] = [];
    decisions.push(state.set({ code: 'THROTTLED', message: 'attempt 1', at: clock.now() }));
    // The client loads on this first outcome; let it before the clock jumps, or the next attempt, buffered
    // meanwhile, would be stamped at replay with the same time as this one and make no Event.
    await status.flush();
    clock.advance(61_000);
    decisions.push(state.set({ code: 'THROTTLED', message: 'attempt 2', at: clock.now() }));
    decisions.push(state.set({ code: 'ENTITLED', message: 'entitled to prod-abc123', at: clock.now() }));
    await status.flush();
    // The API's answer changed nothing about the entitlement.
    expect(decisions.map((d) => d.status)).toEqual(['pending', 'pending', 'entitled']);
    expect(state.current.status).toBe('entitled');

    const posts = api.requests.filter((r) => r.method === 'POST').length;
    const patches = api.requests.filter((r) => r.method === 'PATCH').length;
    expect(posts).toBe(3); // Throttled, Throttled 61 s later, Entitled
    // Throttled, then the final state; the second attempt's Throttled changes nothing. Each 403 came back
    // while a flush() was draining, which does not reschedule it.
    const reasons = api.requests.filter((r) => r.method === 'PATCH').map((r) => (r.body as { status: { conditions: { reason: string }[] } }).status.conditions[0]?.reason);
    expect(reasons).toEqual(['Throttled', 'Entitled']);
    expect(await value(registry, ERRORS, { operation: 'event', reason: 'forbidden' })).toBe(posts);
    expect(await value(registry, ERRORS, { operation: 'condition', reason: 'forbidden' })).toBe(patches);
    expect(await value(registry, REQUESTS, { operation: 'event' })).toBe(posts);
    expect(await value(registry, REQUESTS, { operation: 'condition' })).toBe(patches);
    for (const reason of ['unreachable', 'timeout', 'other']) {
      expect(await value(registry, ERRORS, { operation: 'event', reason })).toBe(0);
    }

    const lines = warnings();
    expect(lines.map((l) => [l.operation, l.reason, l.httpStatus])).toEqual(
      expect.arrayContaining([
        ['event', 'forbidden', 403],
        ['condition', 'forbidden', 403],
      ]),
    );
    expect(lines).toHaveLength(2);
    expect(lines.find((l) => l.operation === 'event')?.msg).toContain('"create" on "events" in namespace shop');
    expect(lines.find((l) => l.operation === 'condition')?.msg).toContain('"patch" on "pods/status"');
    expect(lines.every((l) => l.msg.includes('The entitlement does not depend on it'))).toBe(true);
    // The API server's own words about what was refused are kept; the service-account token is not logged.
    expect(String(lines[0]?.error)).toContain('is forbidden: User "system:serviceaccount:shop:paid-app"');
    expect(JSON.stringify(logs.lines)).not.toContain(SA_TOKEN);
  });

  it('an API server that accepts and never answers: set() returns at once, flush() settles on the timeout, sockets are closed', async () => {
    const api = await server('silent');
    const timeoutMs = 500;
    const { registry, status, state, warnings } = start(api.port, { timeoutMs });
    const t0 = performance.now();
    const decided = [state.set({ code: 'THROTTLED', message: 'attempt 1' }), state.set({ code: 'ENTITLED', message: 'entitled to prod-abc123' })];
    const setMs = performance.now() - t0;
    // Decided before a single byte went to the API: the observer only buffers while the client loads.
    expect(decided.map((d) => d.status)).toEqual(['pending', 'entitled']);
    expect(api.requests).toHaveLength(0);
    expect(setMs).toBeLessThan(timeoutMs / 5);

    const f0 = performance.now();
    await status.flush();
    const flushMs = performance.now() - f0;
    // The two Events and the Throttled patch time out together; the Entitled patch, queued behind that
    // patch, goes out then and times out once more: two request timeouts, the most flush() waits.
    expect(flushMs).toBeGreaterThanOrEqual(2 * timeoutMs - 50);
    expect(flushMs).toBeLessThan(2 * timeoutMs + 2_000);
    expect(api.requests.map((r) => r.method).sort()).toEqual(['PATCH', 'PATCH', 'POST', 'POST']);
    expect(await value(registry, ERRORS, { operation: 'event', reason: 'timeout' })).toBe(2);
    expect(await value(registry, ERRORS, { operation: 'condition', reason: 'timeout' })).toBe(2);
    expect(warnings().map((l) => [l.operation, l.reason])).toEqual(
      expect.arrayContaining([
        ['event', 'timeout'],
        ['condition', 'timeout'],
      ]),
    );
    expect(warnings()).toHaveLength(2);
    // The aborted requests' sockets are gone: nothing of them keeps a stopping process alive.
    await until(async () => (await api.connections()) === 0);
    expect(state.current.status).toBe('entitled');
  });

  it('nothing listening: counted as unreachable, flush() settles at once', async () => {
    const port = await unusedPort();
    const { registry, status, state, warnings } = start(port, { timeoutMs: 10_000 });
    state.set({ code: 'CUSTOMER_NOT_ENTITLED', message: 'CustomerNotEntitledException' });
    const f0 = performance.now();
    await status.flush();
    expect(performance.now() - f0).toBeLessThan(5_000); // refused, not timed out
    expect(await value(registry, ERRORS, { operation: 'event', reason: 'unreachable' })).toBe(1);
    expect(await value(registry, ERRORS, { operation: 'condition', reason: 'unreachable' })).toBeGreaterThanOrEqual(1);
    expect(warnings().map((l) => [l.operation, l.reason, l.errno])).toEqual(
      expect.arrayContaining([
        ['event', 'unreachable', 'ECONNREFUSED'],
        ['condition', 'unreachable', 'ECONNREFUSED'],
      ]),
    );
    expect(warnings()).toHaveLength(2);
    expect(state.current.code).toBe('CUSTOMER_NOT_ENTITLED');
  });

  it('verifies the API server against the service account ca.crt: another CA is refused before any request', async () => {
    const api = await server('ok');
    const { registry, status, state, warnings } = start(api.port, { prefix: wrongCaRoot });
    state.set({ code: 'ENTITLED', message: 'entitled' });
    await status.flush();
    expect(api.requests).toEqual([]);
    expect(await value(registry, ERRORS, { operation: 'event', reason: 'other' })).toBe(1);
    expect(warnings().find((l) => l.operation === 'event')?.errno).toMatch(/CERT|SIGNATURE|ISSUER|VERIFY/);
  });

  it('500: counted as other with its HTTP status, logged once however often it happens', async () => {
    const api = await server('error');
    const { registry, clock, status, state, warnings } = start(api.port);
    for (let i = 0; i < 3; i++) {
      state.set({ code: 'NETWORK_ERROR', message: `attempt ${i}`, at: clock.now() });
      // Settled before the clock moves on (the first time, the client loads): each attempt is a minute apart.
      await status.flush();
      clock.advance(61_000);
    }
    expect(await value(registry, ERRORS, { operation: 'event', reason: 'other' })).toBe(3);
    expect(warnings().filter((l) => l.operation === 'event')).toEqual([expect.objectContaining({ reason: 'other', httpStatus: 500 })]);
    expect(String(warnings().find((l) => l.operation === 'event')?.error)).toContain('etcdserver: request timed out');
  });

  it('a bug in the observer is logged once and never reaches EntitlementState.set()', async () => {
    const api = await server('ok');
    const { status, logs } = start(api.port);
    const bogus = { status: 'pending', code: 'NO_SUCH_CODE', message: 'x', action: 'y', since: '2026-11-23T00:00:00.000Z' } as unknown as Snapshot;
    expect(() => status.observer(bogus, bogus)).not.toThrow();
    expect(() => status.observer(bogus, bogus)).not.toThrow();
    // Both were buffered while the client loads; the reporter meets them when they are replayed.
    await status.flush();
    expect(logs.lines.filter((l) => l.level === 'error')).toEqual([
      expect.objectContaining({ module: 'k8s', msg: 'Kubernetes status: could not handle a status change; the entitlement is not affected' }),
    ]);
    // And a real outcome after them still goes through.
    status.observer(new EntitlementState().set({ code: 'ENTITLED', message: 'entitled' }), bogus);
    await status.flush();
    expect(api.requests.map((r) => r.method).sort()).toEqual(['PATCH', 'POST']);
  });
});

describe('the entitlement does not depend on the Kubernetes API', () => {
  it('a real EntitlementState decides the same thing, as fast, with a dead API server as with a healthy one', async () => {
    const healthy = await server('ok');
    const dead = await server('silent');
    const timeoutMs = 1_000;
    const run = (port: number) => {
      const { status, state } = start(port, { timeoutMs });
      const t0 = performance.now();
      const snapshots = [
        state.set({ code: 'THROTTLED', message: 'attempt 1' }),
        state.set({ code: 'ENTITLED', message: 'entitled to prod-abc123' }),
      ];
      return { status, ms: performance.now() - t0, decided: snapshots.map((s) => [s.status, s.code]) };
    };
    const a = run(healthy.port);
    const b = run(dead.port);
    expect(b.decided).toEqual(a.decided);
    // Both are synchronous and an order of magnitude under one API timeout: set() never waited for the API.
    expect(b.ms).toBeLessThan(timeoutMs / 10);
    expect(a.ms).toBeLessThan(timeoutMs / 10);
    await a.status.flush();
    const f0 = performance.now();
    await b.status.flush();
    expect(performance.now() - f0).toBeLessThan(2 * timeoutMs + 2_000);
    // Two Events and two patches each: Throttled, then Entitled (the dead server's queued behind a timeout).
    expect(healthy.requests.map((r) => r.method).sort()).toEqual(['PATCH', 'PATCH', 'POST', 'POST']);
    expect(dead.requests.map((r) => r.method).sort()).toEqual(['PATCH', 'PATCH', 'POST', 'POST']);
  });
});
