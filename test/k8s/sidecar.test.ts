import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { loadSidecarConfig } from '../../src/config/settings.js';
import type { Scenario } from '../../src/emulator/index.js';
import { startKubernetesStatus, type KubernetesStatus } from '../../src/k8s/index.js';
import { runSidecar } from '../../src/sidecar/run.js';
import type { Snapshot } from '../../src/sidecar/state.js';
import { emulator, meteringClient, REGION } from '../helpers/emulator.js';
import { capturedLogger, clusterFixture, podEnv, POD, startFakeApiServer, type ApiMode, type FakeApiServer } from './fake-apiserver.js';

/**
 * The whole sidecar in-process (real SDK, real HTTP, the emulator) with the Kubernetes status observer
 * wired as the lead wires it: `observers: [status.observer]`.
 */

const QUICK = { baseDelayMs: 20, maxDelayMs: 100, jitter: 'full' } as const;

const cluster = clusterFixture();
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function sidecarWithK8s(scenario: Partial<Scenario>, apiMode: ApiMode, requestTimeoutMs: number) {
  const api: FakeApiServer = await startFakeApiServer(cluster.pki, apiMode);
  cleanups.push(() => api.close());
  const emu = await emulator(scenario);
  const dir = mkdtempSync(join(tmpdir(), 'k8s-sidecar-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const logs = capturedLogger();
  const status: KubernetesStatus = startKubernetesStatus({
    mode: 'auto',
    env: podEnv(api.port),
    logger: logs.logger,
    registry: new Registry(),
    serviceAccountPrefix: cluster.saRoot,
    requestTimeoutMs,
  });
  const config = loadSidecarConfig([], {
    MARKETPLACE_PRODUCT_CODE: 'prod-abc123',
    MARKETPLACE_PUBLIC_KEY: emu.publicKeyPem,
    ENTITLEMENT_FILE: join(dir, 'entitlement.json'),
    ENTITLEMENT_LISTEN: '127.0.0.1:0',
    ENTITLEMENT_REGISTER_DEADLINE: '30s',
  });
  const controller = new AbortController();
  cleanups.push(() => controller.abort());
  let decided: (s: Snapshot) => void = () => undefined;
  const decision = new Promise<Snapshot>((resolve) => (decided = resolve));
  const t0 = performance.now();
  const done = runSidecar({
    config,
    env: { AWS_REGION: REGION },
    logger: logs.logger,
    signal: controller.signal,
    version: '0.0.0-test',
    retryPolicy: { throttled: QUICK, transient: QUICK },
    createClient: () => meteringClient(emu),
    observers: [status.observer],
    onDecided: decided,
  });
  const snapshot = await Promise.race([decision, done]);
  const decidedAfterMs = performance.now() - t0;
  const stop = async () => {
    controller.abort();
    await done;
  };
  return { api, status, snapshot, decidedAfterMs, stop };
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
