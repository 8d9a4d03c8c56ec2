import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import type { Scenario } from '../../../src/emulator/index.js';
import { startKubernetesStatus, type KubernetesStatus } from '../../../src/k8s/index.js';
import { kubernetesMetricsOn } from '../../../src/k8s/metrics.js';
import { emulator } from '../../helpers/emulator.js';
import { startTestSidecar } from '../../helpers/sidecar.js';
import { capturedLogger, clusterFixture, podEnv, POD, startFakeApiServer, type ApiMode, type FakeApiServer } from '../../helpers/fake-apiserver.js';

/**
 * The whole sidecar in-process (real SDK, real HTTP, the emulator) with the Kubernetes status observer
 * wired as the lead wires it: `observers: [status.observer]`.
 */

const cluster = clusterFixture();
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function sidecarWithK8s(scenario: Partial<Scenario>, apiMode: ApiMode, requestTimeoutMs: number) {
  const api: FakeApiServer = await startFakeApiServer(cluster.pki, apiMode);
  cleanups.push(() => api.close());
  const emu = await emulator(scenario);
  const logs = capturedLogger();
  const status: KubernetesStatus = startKubernetesStatus({
    mode: 'auto',
    env: podEnv(api.port),
    logger: logs.logger,
    metrics: kubernetesMetricsOn(new Registry()),
    serviceAccountPrefix: cluster.saRoot,
    requestTimeoutMs,
  });
  const t0 = performance.now();
  const sidecar = await startTestSidecar(emu, { observers: [status.observer] });
  const decidedAfterMs = performance.now() - t0;
  return { api, status, snapshot: sidecar.snapshot, decidedAfterMs, stop: async () => void (await sidecar.stop()) };
}

describe('the sidecar with Kubernetes status', () => {
  it('throttled twice, then entitled with an expired key: one Throttled event, Entitled, KeyRotationRequired, and the condition from Throttled/False to Entitled/True', async () => {
    const r = await sidecarWithK8s({ throttle: 2, rotationTimestamp: 1_796_083_200 }, 'ok', 5_000);
    expect(r.snapshot).toMatchObject({ status: 'entitled', code: 'ENTITLED' });
    await r.status.flush();
    const events = r.api.requests.filter((q) => q.method === 'POST').map((q) => q.body as { reason: string; type: string; involvedObject: { name: string } });
    // Two throttled attempts within the same minute make one Event.
    expect(events.map((e) => `${e.type}/${e.reason}`).sort()).toEqual(['Normal/Entitled', 'Warning/KeyRotationRequired', 'Warning/Throttled']);
    expect(events.every((e) => e.involvedObject.name === POD.name)).toBe(true);
    const conditions = r.api.requests
      .filter((q) => q.method === 'PATCH')
      .map((q) => (q.body as { status: { conditions: { status: string; reason: string }[] } }).status.conditions[0]);
    // No Registering patch at start: the first condition is the first outcome's. The second throttled
    // attempt has the same code, so it patches nothing.
    expect(conditions).toEqual([
      expect.objectContaining({ status: 'False', reason: 'Throttled' }),
      expect.objectContaining({ status: 'True', reason: 'Entitled' }),
    ]);
    await r.stop();
  });

  it('an API server that never answers neither changes nor delays the decision', async () => {
    const timeoutMs = 10_000;
    const r = await sidecarWithK8s({}, 'silent', timeoutMs);
    let flushed = false;
    const flushing = r.status.flush().then(() => (flushed = true));
    expect(r.snapshot).toMatchObject({ status: 'entitled', code: 'ENTITLED' });
    // Decided while the Kubernetes calls were still hanging, long before their timeout.
    expect(flushed).toBe(false);
    expect(r.decidedAfterMs).toBeLessThan(timeoutMs / 2);
    await r.stop();
    // The API server goes away (connections cut): the outstanding calls end now, not at the timeout.
    await r.api.close();
    const f0 = performance.now();
    await flushing;
    expect(performance.now() - f0).toBeLessThan(timeoutMs);
  });
});
