import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { CONDITION_TYPE, startKubernetesStatus, type KubernetesStatus } from '../../../src/k8s/index.js';
import { kubernetesMetricsOn } from '../../../src/k8s/metrics.js';
import { OUTCOMES, type OutcomeCode } from '../../../src/entitlement/outcomes.js';
import { EntitlementState } from '../../../src/sidecar/state.js';
import {
  capturedLogger,
  manualClock,
  POD,
  podEnv,
  SA_TOKEN,
  startFakeApiServer,
  type FakeApiServer,
  until,
  value,
  type RecordedRequest,
  clusterFixture,
} from '../../helpers/fake-apiserver.js';

const cluster = clusterFixture();
const servers: FakeApiServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

interface EventBody {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string };
  involvedObject: Record<string, string>;
  reason: string;
  type: string;
  message: string;
  count: number;
  firstTimestamp: string;
  lastTimestamp: string;
  source: { component: string };
  reportingComponent: string;
  reportingInstance: string;
}
interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
  lastTransitionTime: string;
}

const EVENTS_PATH = `/api/v1/namespaces/${POD.namespace}/events`;
const STATUS_PATH = `/api/v1/namespaces/${POD.namespace}/pods/${POD.name}/status`;

const events = (rs: RecordedRequest[]) => rs.filter((r) => r.method === 'POST' && r.path === EVENTS_PATH).map((r) => r.body as EventBody);
const conditions = (rs: RecordedRequest[]) =>
  rs.filter((r) => r.method === 'PATCH' && r.path === STATUS_PATH).map((r) => {
    const body = r.body as { status: { conditions: Condition[] } };
    expect(Object.keys(body)).toEqual(['status']);
    expect(Object.keys(body.status)).toEqual(['conditions']);
    expect(body.status.conditions).toHaveLength(1);
    return body.status.conditions[0] as Condition;
  });

/** The real status reporter against the fake API server, fed by a real EntitlementState. */
async function start(o: { env?: (port: number) => NodeJS.ProcessEnv } = {}) {
  const server = await startFakeApiServer(cluster.pki);
  servers.push(server);
  const clock = manualClock();
  const logs = capturedLogger();
  const registry = new Registry();
  const status: KubernetesStatus = startKubernetesStatus({
    mode: 'auto',
    env: (o.env ?? podEnv)(server.port),
    logger: logs.logger,
    metrics: kubernetesMetricsOn(registry),
    serviceAccountPrefix: cluster.saRoot,
    now: clock.now,
    requestTimeoutMs: 2_000,
  });
  const state = new EntitlementState(() => clock.now().getTime());
  state.subscribe(status.observer);
  return { server, clock, logs, registry, status, state };
}

describe('Kubernetes status through the real @kubernetes/client-node', () => {
  it('sends nothing before the first outcome and says once at start that it is on; the first outcome makes exactly its Event and its condition patch', async () => {
    const { server, status, state, clock, logs } = await start();
    const k8sInfo = () => logs.lines.filter((l) => l.level === 'info' && l.module === 'k8s');
    expect(status.enabled).toBe(true);
    await status.flush();
    // Registration has not answered: no request, and the client is not loaded yet; one line says it is on.
    expect(server.requests).toEqual([]);
    expect(k8sInfo()).toEqual([expect.objectContaining({ kubernetesStatus: 'on', pod: `${POD.namespace}/${POD.name}`, podUid: POD.uid })]);

    clock.advance(3_000);
    state.set({ code: 'ENTITLED', message: 'entitled to prod-abc123', at: clock.now() });
    await status.flush();
    expect(server.requests).toHaveLength(2);
    // Both calls carry the service-account token; the condition goes as a strategic-merge patch of pods/NAME/status.
    for (const req of server.requests) expect(req.authorization).toBe(`Bearer ${SA_TOKEN}`);
    expect(server.requests.find((r) => r.method === 'PATCH')).toMatchObject({ path: STATUS_PATH, contentType: 'application/strategic-merge-patch+json' });
    const message = `ENTITLED: entitled to prod-abc123. Action: ${OUTCOMES.ENTITLED.action}`;
    expect(events(server.requests)).toEqual([expect.objectContaining({ reason: 'Entitled', type: 'Normal', message, firstTimestamp: '2026-11-23T00:00:03.000Z' })]);
    // No Registering patch came before it: the first condition is the first outcome's, and its status dates from then.
    expect(conditions(server.requests)).toEqual([
      { type: CONDITION_TYPE, status: 'True', reason: 'Entitled', message, lastTransitionTime: '2026-11-23T00:00:03Z' },
    ]);
    // And once more when the client is up, naming the server.
    expect(k8sInfo()).toHaveLength(2);
    expect(k8sInfo()[1]).toMatchObject({ kubernetesStatus: 'on', server: `https://127.0.0.1:${server.port}` });
  });

  it('delivers every snapshot seen while the client is still loading, in the order seen', async () => {
    const { server, status, state, clock } = await start();
    // All four arrive synchronously, before the client's import can have finished: they are buffered.
    state.set({ code: 'THROTTLED', message: 'attempt 1', at: clock.now() });
    state.set({ code: 'THROTTLED', message: 'attempt 2', at: clock.now() });
    state.set({ code: 'NETWORK_ERROR', message: 'attempt 3: ECONNRESET', at: clock.now() });
    state.set({ code: 'CUSTOMER_NOT_ENTITLED', message: 'denied', at: clock.now() });
    expect(server.requests).toEqual([]);
    await status.flush();
    // Events are concurrent, so their arrival order is not theirs to keep; which retry Event went out is:
    // attempt 1, replayed first, made it, and attempt 2 fell within its minute.
    expect(events(server.requests).map((e) => e.message.slice(0, e.message.indexOf('.'))).sort()).toEqual([
      'CUSTOMER_NOT_ENTITLED: denied',
      'NETWORK_ERROR: attempt 3: ECONNRESET',
      'THROTTLED: attempt 1',
    ]);
    // The condition is single-flight: the first replayed snapshot's patch, then the last one's.
    expect(conditions(server.requests).map((c) => [c.status, c.reason])).toEqual([
      ['False', 'Throttled'],
      ['False', 'NotEntitled'],
    ]);
  });

  it('dates the condition from the first outcome and moves lastTransitionTime only when the status flips', async () => {
    const { server, status, state, clock } = await start();
    const step = async (ms: number, code: OutcomeCode) => {
      clock.advance(ms);
      state.set({ code, message: code.toLowerCase(), at: clock.now() });
      await status.flush();
    };
    await step(2_000, 'THROTTLED');
    await step(5_000, 'NETWORK_ERROR');
    await step(8_000, 'ENTITLED');
    // Same code and status again: the condition is already right, nothing is patched.
    await step(1_000, 'ENTITLED');
    expect(conditions(server.requests).map((c) => [c.status, c.reason, c.lastTransitionTime])).toEqual([
      ['False', 'Throttled', '2026-11-23T00:00:02Z'],
      ['False', 'RetryingRegistration', '2026-11-23T00:00:02Z'],
      ['True', 'Entitled', '2026-11-23T00:00:15Z'],
    ]);
  });

  // Every outcome code: its reason, Event type, condition status, and words the operator needs to act.
  const TABLE: [OutcomeCode, string, 'Normal' | 'Warning', 'True' | 'False', string[]][] = [
    ['ENTITLED', 'Entitled', 'Normal', 'True', ['None: the entitlement is verified']],
    ['CUSTOMER_NOT_ENTITLED', 'NotEntitled', 'Warning', 'False', ['Subscribe to the product in AWS Marketplace']],
    ['PLATFORM_NOT_SUPPORTED', 'PlatformNotSupported', 'Warning', 'False', ['Amazon EKS']],
    ['INVALID_PRODUCT_CODE', 'Misconfigured', 'Warning', 'False', ['MARKETPLACE_PRODUCT_CODE']],
    ['INVALID_PUBLIC_KEY_VERSION', 'Misconfigured', 'Warning', 'False', ['MARKETPLACE_PUBLIC_KEY_VERSION']],
    ['INVALID_REGION', 'Misconfigured', 'Warning', 'False', ['AWS_REGION']],
    ['ACCESS_DENIED', 'Misconfigured', 'Warning', 'False', ['aws-marketplace:RegisterUsage', 'IRSA role']],
    ['CREDENTIALS_REJECTED', 'Misconfigured', 'Warning', 'False', ['ECS task role or EKS IRSA']],
    ['CREDENTIALS_UNAVAILABLE', 'Misconfigured', 'Warning', 'False', ['IRSA role']],
    ['REGION_UNRESOLVED', 'Misconfigured', 'Warning', 'False', ['AWS_REGION']],
    ['REQUEST_INVALID', 'Misconfigured', 'Warning', 'False', ['MARKETPLACE_PRODUCT_CODE', 'MARKETPLACE_PUBLIC_KEY_VERSION']],
    ['API_DISABLED', 'RegistrationFailed', 'Warning', 'False', ['region where AWS Marketplace metering is available']],
    ['DEADLINE_EXCEEDED', 'RegistrationFailed', 'Warning', 'False', ['ENTITLEMENT_REGISTER_DEADLINE']],
    ['UNEXPECTED_ERROR', 'RegistrationFailed', 'Warning', 'False', ['contact the seller']],
    ['USAGE_DIMENSION_INVALID', 'Misconfigured', 'Warning', 'False', ['MARKETPLACE_USAGE_DIMENSIONS']],
    ['METERING_DRY_RUN_FAILED', 'Misconfigured', 'Warning', 'False', ['aws-marketplace:MeterUsage']],
    ['USAGE_UNAVAILABLE', 'UsageUnavailable', 'Warning', 'False', ['ENTITLEMENT_FILE', 'usage-journal.ndjson']],
    ['ENTITLEMENT_WRITE_FAILED', 'EntitlementWriteFailed', 'Warning', 'False', ['ENTITLEMENT_FILE']],
    ['DENIAL_RECORD_UNREADABLE', 'DenialRecordUnreadable', 'Warning', 'False', ['ENTITLEMENT_FILE', 'fresh volume']],
    ['NO_LICENSE', 'NoLicense', 'Warning', 'False', ['MARKETPLACE_LICENSE_ENTITLEMENTS', 'ENTITLEMENT_LICENSE_CHECK_INTERVAL']],
    ['LICENSE_EXPIRED', 'LicenseExpired', 'Warning', 'False', ['renews it']],
    ['LICENSE_INACTIVE', 'LicenseInactive', 'Warning', 'False', ['suspended, deactivated']],
    // Still entitled: the condition stays True (the pod keeps serving), the Event warns.
    ['LICENSE_STALE', 'LicenseNotRefreshed', 'Warning', 'True', ['ENTITLEMENT_LICENSE_GRACE', 'license-manager.<region>.amazonaws.com']],
    ['LICENSE_CHECK_FAILED', 'LicenseCheckFailed', 'Warning', 'False', ['license-manager.<region>.amazonaws.com']],
    ['LICENSE_ACCESS_DENIED', 'Misconfigured', 'Warning', 'False', ['license-manager:CheckoutLicense', 'AWSLicenseManagerConsumptionPolicy']],
    ['LICENSE_REQUEST_INVALID', 'Misconfigured', 'Warning', 'False', ['MARKETPLACE_PRODUCT_SKU']],
    ['LICENSE_REDIRECTED', 'Misconfigured', 'Warning', 'False', ['AWS_REGION']],
    ['LICENSE_TOKEN_UNREADABLE', 'Misconfigured', 'Warning', 'False', ['ENTITLEMENT_LICENSE_TOKEN_DIR']],
    ['LICENSE_TOKEN_REJECTED', 'Misconfigured', 'Warning', 'False', ['new license token']],
    ['LICENSE_ROLE_REJECTED', 'Misconfigured', 'Warning', 'False', ['openid-license-manager.amazonaws.com']],
    ['TOKEN_INVALID', 'TokenRejected', 'Warning', 'False', ['MARKETPLACE_PUBLIC_KEY(_FILE)']],
    ['TOKEN_MISMATCH', 'TokenRejected', 'Warning', 'False', ['replayed or forged']],
    ['THROTTLED', 'Throttled', 'Warning', 'False', ['backs off and retries']],
    ['SERVICE_UNAVAILABLE', 'RetryingRegistration', 'Warning', 'False', ['retries until the register deadline']],
    ['NETWORK_ERROR', 'RetryingRegistration', 'Warning', 'False', ['VPC endpoint, NAT, DNS']],
    ['TIMEOUT', 'RetryingRegistration', 'Warning', 'False', ['did not answer in time']],
  ];

  it('has a row for every outcome code but REGISTERING, which is no outcome', () => {
    expect(TABLE.map(([code]) => code).sort()).toEqual(Object.keys(OUTCOMES).filter((c) => c !== 'REGISTERING').sort());
  });

  it.each(TABLE)('%s: an Event with reason %s (%s) on the pod and the condition %s', async (code, reason, type, conditionStatus, mentions) => {
    const { server, status, state, clock } = await start();
    clock.advance(5_000);
    const what = `RegisterUsage: something happened for ${code} (request id 1234)`;
    state.set({ code, message: what, at: clock.now() });
    await status.flush();

    const [event, ...more] = events(server.requests);
    expect(more).toEqual([]);
    expect(event).toMatchObject({
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { namespace: POD.namespace },
      involvedObject: { apiVersion: 'v1', kind: 'Pod', name: POD.name, namespace: POD.namespace, uid: POD.uid },
      reason,
      type,
      count: 1,
      firstTimestamp: '2026-11-23T00:00:05.000Z',
      lastTimestamp: '2026-11-23T00:00:05.000Z',
      source: { component: 'marketplace-entitlement-sidecar' },
      reportingComponent: 'marketplace-entitlement-sidecar',
      reportingInstance: POD.name,
    });
    expect(event?.metadata.name).toMatch(new RegExp(`^${POD.name}\\.[0-9a-f]+$`));
    // What happened, with the stable code, and what to do about it.
    expect(event?.message).toBe(`${code}: ${what}. Action: ${OUTCOMES[code].action}`);
    for (const words of mentions) expect(event?.message).toContain(words);

    // The first outcome is the first condition the pod gets: nothing was patched before it, so its status
    // dates from this outcome whether it is True or False.
    expect(conditions(server.requests)).toEqual([
      {
        type: CONDITION_TYPE,
        status: conditionStatus,
        reason,
        message: event?.message,
        lastTransitionTime: '2026-11-23T00:00:05Z',
      },
    ]);
    expect(server.requests).toHaveLength(2);
  });

  it('sends retry Events at most once a minute per reason: 10 s apart make one, 61 s apart two', async () => {
    const { server, status, state, clock } = await start();
    state.set({ code: 'THROTTLED', message: 'attempt 1: ThrottlingException; retrying in 200 ms', at: clock.now() });
    // The client loads on this first outcome. Let it, before the clock moves: a snapshot buffered during the
    // load is stamped when it is replayed, not when it was seen, so moving the clock now would move attempt
    // 1's Event too, and swallow attempt 2's.
    await status.flush();
    clock.advance(10_000);
    state.set({ code: 'THROTTLED', message: 'attempt 2: ThrottlingException; retrying in 400 ms', at: clock.now() });
    await status.flush();
    expect(events(server.requests).map((e) => [e.reason, e.message.slice(0, 20)])).toEqual([['Throttled', 'THROTTLED: attempt 1']]);

    clock.advance(51_000); // 61 s after the first
    state.set({ code: 'THROTTLED', message: 'attempt 3: ThrottlingException; retrying in 800 ms', at: clock.now() });
    clock.advance(1_000);
    state.set({ code: 'THROTTLED', message: 'attempt 4: ThrottlingException; retrying in 1600 ms', at: clock.now() });
    await status.flush();
    expect(events(server.requests).map((e) => [e.reason, e.message.slice(0, 20), e.firstTimestamp])).toEqual([
      ['Throttled', 'THROTTLED: attempt 1', '2026-11-23T00:00:00.000Z'],
      ['Throttled', 'THROTTLED: attempt 3', '2026-11-23T00:01:01.000Z'],
    ]);
    // One attempt after another does not re-patch the condition: it changes with the outcome, not per attempt.
    expect(conditions(server.requests).map((c) => [c.reason, c.lastTransitionTime])).toEqual([['Throttled', '2026-11-23T00:00:00Z']]);
  });

  it('gives another retry reason its own Event within the minute, then the final outcome at once', async () => {
    const { server, status, state, clock } = await start();
    state.set({ code: 'THROTTLED', message: 'attempt 1', at: clock.now() });
    await status.flush(); // the client is loaded: what follows is stamped as it comes
    clock.advance(5_000);
    state.set({ code: 'NETWORK_ERROR', message: 'attempt 2: ECONNRESET', at: clock.now() });
    clock.advance(5_000);
    state.set({ code: 'TIMEOUT', message: 'attempt 3', at: clock.now() });
    clock.advance(5_000);
    state.set({ code: 'ENTITLED', message: 'entitled to prod-abc123', at: clock.now() });
    await status.flush();
    // TIMEOUT shares RetryingRegistration with NETWORK_ERROR, 5 s earlier: no Event of its own.
    expect(events(server.requests).map((e) => [e.reason, e.firstTimestamp])).toEqual([
      ['Throttled', '2026-11-23T00:00:00.000Z'],
      ['RetryingRegistration', '2026-11-23T00:00:05.000Z'],
      ['Entitled', '2026-11-23T00:00:15.000Z'],
    ]);
    const last = conditions(server.requests).at(-1);
    expect(last).toMatchObject({ status: 'True', reason: 'Entitled', lastTransitionTime: '2026-11-23T00:00:15Z' });
  });

  it('records KeyRotationRequired next to Entitled when AWS sends a PublicKeyRotationTimestamp', async () => {
    const { server, status, state, clock } = await start();
    state.set({
      code: 'ENTITLED',
      message: 'entitled to prod-abc123; token verified with key version 1',
      at: clock.now(),
      entitlement: { source: 'register-usage', productCode: 'prod-abc123', publicKeyVersion: 1, issuedAt: null, verifiedAt: clock.now().toISOString(), entitlementFile: '/var/run/marketplace/entitlement.json' },
      publicKeyRotationTimestamp: '2026-12-01T00:00:00.000Z',
    });
    await status.flush();
    const byReason = Object.fromEntries(events(server.requests).map((e) => [e.reason, e]));
    expect(Object.keys(byReason).sort()).toEqual(['Entitled', 'KeyRotationRequired']);
    expect(byReason.KeyRotationRequired).toMatchObject({ type: 'Warning', involvedObject: { kind: 'Pod', name: POD.name } });
    expect(byReason.KeyRotationRequired?.message).toContain('public key version 1 expired at 2026-12-01T00:00:00.000Z');
    expect(byReason.KeyRotationRequired?.message).toContain('MARKETPLACE_PUBLIC_KEY_VERSION');
    expect(byReason.Entitled?.type).toBe('Normal');
    // Still entitled: the pod stays Ready.
    expect(conditions(server.requests).at(-1)).toMatchObject({ status: 'True', reason: 'Entitled' });
  });

  it('keeps messages within 1024 bytes, cutting what AWS said rather than the action', async () => {
    const { server, status, state } = await start();
    const long = `Ünïcödé détail ${'€'.repeat(2_000)}`;
    state.set({ code: 'INVALID_PRODUCT_CODE', message: long });
    await status.flush();
    const [event] = events(server.requests);
    const condition = conditions(server.requests).at(-1);
    for (const message of [event?.message ?? '', condition?.message ?? '']) {
      expect(Buffer.byteLength(message)).toBeLessThanOrEqual(1024);
      expect(Buffer.byteLength(message)).toBeGreaterThan(1000);
      expect(message.startsWith('INVALID_PRODUCT_CODE: Ünïcödé détail €€€')).toBe(true);
      expect(message).toContain('…. Action: ');
      expect(message.endsWith(OUTCOMES.INVALID_PRODUCT_CODE.action)).toBe(true);
      expect(message).not.toContain('\uFFFD');
    }
  });

  it('marks a denial remembered from an earlier run in the message', async () => {
    const { server, status, state } = await start();
    state.set({ code: 'CUSTOMER_NOT_ENTITLED', sticky: true, awsError: 'CustomerNotEntitledException', message: 'denied earlier in this pod/task (2026-11-22T23:00:00Z): no subscription' });
    await status.flush();
    expect(events(server.requests)[0]?.message).toContain('denied earlier in this pod/task');
  });

  it('sends a condition patch that failed again until it lands, without a newer snapshot', async () => {
    const { server, status, registry } = await startWithMode('error');
    // The Event and the patch both get a 500; only the patch is retried.
    await server.waitForRequests(2);
    server.mode = 'ok';
    // The default first retry comes after about a second; wait for it, bounded.
    const all = await server.waitForRequests(3, 10_000);
    const [failed, retried] = all.filter((r) => r.method === 'PATCH');
    expect(retried).toBeDefined();
    expect(retried?.body).toEqual(failed?.body);
    expect(conditions(all).map((c) => c.reason)).toEqual(['NotEntitled', 'NotEntitled']);
    await status.flush();
    expect(await value(registry, 'marketplace_entitlement_kubernetes_api_errors_total', { operation: 'condition', reason: 'other' })).toBe(1);
    expect(await value(registry, 'marketplace_entitlement_kubernetes_api_requests_total', { operation: 'condition' })).toBe(2);
    // The Event is not retried.
    expect(await value(registry, 'marketplace_entitlement_kubernetes_api_requests_total', { operation: 'event' })).toBe(1);
    expect(server.requests).toHaveLength(3);
  });

  it('runs a scheduled condition retry at once on flush(), so shutdown does not wait out the backoff', async () => {
    const { server, status, registry } = await startWithMode('forbidden');
    await server.waitForRequests(2);
    server.mode = 'ok';
    // Once the 403 is counted, the retry is on its timer.
    await until(async () => (await value(registry, 'marketplace_entitlement_kubernetes_api_errors_total', { operation: 'condition', reason: 'forbidden' })) === 1);
    const t0 = performance.now();
    await status.flush();
    expect(performance.now() - t0).toBeLessThan(900); // well below the 1 s backoff it would otherwise wait
    expect(conditions(server.requests).map((c) => c.reason)).toEqual(['NotEntitled', 'NotEntitled']);
  });

  it('sends only the latest condition when states pile up behind a slow patch', async () => {
    const { server, status, state, clock } = await start();
    // The first outcome's patch is on its way; two more outcomes arrive before it returns.
    state.set({ code: 'THROTTLED', message: 'attempt 1', at: clock.now() });
    state.set({ code: 'SERVICE_UNAVAILABLE', message: 'attempt 2', at: clock.now() });
    state.set({ code: 'ENTITLED', message: 'entitled', at: clock.now() });
    await status.flush();
    expect(conditions(server.requests).map((c) => c.reason)).toEqual(['Throttled', 'Entitled']);
    // The Events are not collapsed: each outcome has its own.
    expect(events(server.requests).map((e) => e.reason).sort()).toEqual(['Entitled', 'RetryingRegistration', 'Throttled']);
  });

  it('leaves the uid out of involvedObject when POD_UID is not set', async () => {
    const server = await startFakeApiServer(cluster.pki);
    servers.push(server);
    const { POD_UID: _uid, ...env } = podEnv(server.port);
    const status = startKubernetesStatus({ mode: 'auto', env, logger: capturedLogger().logger, metrics: kubernetesMetricsOn(new Registry()), serviceAccountPrefix: cluster.saRoot });
    status.observer(new EntitlementState().set({ code: 'ENTITLED', message: 'entitled' }), new EntitlementState().current);
    await status.flush();
    expect(events(server.requests)[0]?.involvedObject).toEqual({ apiVersion: 'v1', kind: 'Pod', name: POD.name, namespace: POD.namespace });
  });

  it('reads the API server address from the env it is given, with IPv6 in brackets', async () => {
    // The fake listens on 127.0.0.1 only, so nothing answers at [::1]: the address is the env's, not process.env's.
    const { server, status, state, logs } = await start({ env: (port) => podEnv(port, { KUBERNETES_SERVICE_HOST: '::1' }) });
    state.set({ code: 'ENTITLED', message: 'entitled' });
    await status.flush();
    expect(logs.lines.find((l) => l.kubernetesStatus === 'on' && l.server !== undefined)?.server).toBe(`https://[::1]:${server.port}`);
    expect(server.requests).toEqual([]);
  });
});

/** A reporter whose API server refuses, after one outcome (an Event and a condition patch) has been observed. */
async function startWithMode(mode: 'error' | 'forbidden') {
  const server = await startFakeApiServer(cluster.pki, mode);
  servers.push(server);
  const registry = new Registry();
  const status = startKubernetesStatus({ mode: 'auto', env: podEnv(server.port), logger: capturedLogger().logger, metrics: kubernetesMetricsOn(registry), serviceAccountPrefix: cluster.saRoot, requestTimeoutMs: 2_000 });
  const state = new EntitlementState();
  state.subscribe(status.observer);
  state.set({ code: 'CUSTOMER_NOT_ENTITLED', message: 'CustomerNotEntitledException' });
  return { server, status, registry };
}

describe('outcomes seen while the client loads', () => {
  it('keep the time they happened: a throttle 61 s after another still makes its own Event', async () => {
    const server = await startFakeApiServer(cluster.pki, 'ok');
    servers.push(server);
    const clock = manualClock();
    const status = startKubernetesStatus({ mode: 'auto', env: podEnv(server.port), logger: capturedLogger().logger, metrics: kubernetesMetricsOn(new Registry()), serviceAccountPrefix: cluster.saRoot, now: clock.now });
    const state = new EntitlementState(() => clock.now().getTime());
    state.subscribe(status.observer);
    // Both arrive before the client's import can have finished; the clock moves between them.
    state.set({ code: 'THROTTLED', message: 'attempt 1', at: clock.now() });
    clock.advance(61_000);
    state.set({ code: 'THROTTLED', message: 'attempt 2', at: clock.now() });
    await status.flush();
    expect(events(server.requests).map((e) => e.firstTimestamp).sort()).toEqual(['2026-11-23T00:00:00.000Z', '2026-11-23T00:01:01.000Z']);
  });
});

describe('events that are not outcomes (usage metering)', () => {
  it('posts them on the pod, loading the client if needed, with the message capped', async () => {
    const server = await startFakeApiServer(cluster.pki, 'ok');
    servers.push(server);
    const status = startKubernetesStatus({ mode: 'auto', env: podEnv(server.port), logger: capturedLogger().logger, metrics: kubernetesMetricsOn(new Registry()), serviceAccountPrefix: cluster.saRoot });
    status.event({ reason: 'UsageCarriedForward', type: 'Warning', message: `x${'é'.repeat(2000)}` });
    await status.flush();
    const [event, ...more] = events(server.requests);
    expect(more).toEqual([]);
    expect(event).toMatchObject({ reason: 'UsageCarriedForward', type: 'Warning', involvedObject: { kind: 'Pod', name: POD.name } });
    expect(Buffer.byteLength(event?.message ?? '')).toBeLessThanOrEqual(1024);
  });
});
