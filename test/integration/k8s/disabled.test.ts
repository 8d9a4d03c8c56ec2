import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { KUBERNETES_STATUS_MODES, startKubernetesStatus, type KubernetesStatusOptions } from '../../../src/k8s/index.js';
import { kubernetesMetricsOn } from '../../../src/k8s/metrics.js';
import { EntitlementState } from '../../../src/sidecar/state.js';
import { capturedLogger, makePki, podEnv, serviceAccountDir, startFakeApiServer, type FakeApiServer, type Pki } from '../../helpers/fake-apiserver.js';

let pki: Pki;
let saRoot: string;
let emptyRoot: string;
let api: FakeApiServer;

beforeAll(async () => {
  pki = makePki();
  saRoot = serviceAccountDir(mkdtempSync(join(tmpdir(), 'k8s-sa-')), pki);
  // A pod with automountServiceAccountToken: false has no token to read.
  emptyRoot = mkdtempSync(join(tmpdir(), 'k8s-no-sa-'));
});
afterAll(() => {
  pki.remove();
  for (const dir of [saRoot, emptyRoot]) rmSync(dir, { recursive: true, force: true });
});
beforeEach(async () => {
  api = await startFakeApiServer(pki);
});
afterEach(async () => {
  await api.close();
});

/** Runs a whole life (start, two outcomes, flush) and returns what reached the API and the log. */
async function life(o: Partial<Pick<KubernetesStatusOptions, 'mode' | 'env' | 'serviceAccountPrefix'>>) {
  const logs = capturedLogger();
  const registry = new Registry();
  const status = startKubernetesStatus({
    mode: o.mode ?? 'auto',
    env: o.env ?? podEnv(api.port),
    logger: logs.logger,
    metrics: kubernetesMetricsOn(registry),
    serviceAccountPrefix: o.serviceAccountPrefix ?? saRoot,
  });
  const state = new EntitlementState();
  state.subscribe(status.observer);
  state.set({ code: 'THROTTLED', message: 'attempt 1' });
  state.set({ code: 'CUSTOMER_NOT_ENTITLED', message: 'denied' });
  await status.flush();
  const k8sLines = logs.lines.filter((l) => l.module === 'k8s');
  return { status, k8sLines, registry, requests: api.requests.length };
}

describe('Kubernetes status turned off or out of reach', () => {
  it('control: with everything in place the same life does reach the API', async () => {
    const r = await life({});
    expect(r.status.enabled).toBe(true);
    // An Event and a condition patch for each of the two outcomes.
    expect(r.requests).toBe(4);
  });

  type Case = Partial<Pick<KubernetesStatusOptions, 'mode' | 'env' | 'serviceAccountPrefix'>>;
  it.each<[string, (port: number) => Case, string]>([
    ['mode off', () => ({ mode: 'off' }), 'turned off by ENTITLEMENT_KUBERNETES_STATUS=off'],
    ['no KUBERNETES_SERVICE_HOST (not in a cluster, e.g. ECS)', (port) => ({ env: podEnv(port, { KUBERNETES_SERVICE_HOST: undefined }) }), 'not running in a Kubernetes cluster (KUBERNETES_SERVICE_HOST is not set)'],
    ['no service-account token (automountServiceAccountToken: false)', () => ({ serviceAccountPrefix: emptyRoot }), 'token is not readable'],
    ['POD_NAME missing', (port) => ({ env: podEnv(port, { POD_NAME: undefined }) }), 'POD_NAME is not set: set POD_NAME and POD_NAMESPACE from the downward API'],
    ['POD_NAMESPACE empty', (port) => ({ env: podEnv(port, { POD_NAMESPACE: '' }) }), 'POD_NAMESPACE is not set'],
    ['both missing', (port) => ({ env: podEnv(port, { POD_NAME: undefined, POD_NAMESPACE: undefined }) }), 'POD_NAME and POD_NAMESPACE are not set'],
  ])('%s: no request at all, one info line saying why', async (_name, options, why) => {
    const r = await life(options(api.port));
    expect(r.status.enabled).toBe(false);
    expect(r.requests).toBe(0);
    expect(r.k8sLines).toHaveLength(1);
    expect(r.k8sLines[0]).toMatchObject({ level: 'info', kubernetesStatus: 'off' });
    expect(r.k8sLines[0]?.msg).toContain(why);
    expect(r.k8sLines[0]?.msg).toContain('no pod Events and no marketplace.aws/entitled condition');
    if (why.includes('POD_')) expect(r.k8sLines[0]?.msg).toContain('metadata.name and metadata.namespace');
    // The series exist anyway, at zero, so dashboards look the same everywhere.
    const requests = await r.registry.getSingleMetric('marketplace_entitlement_kubernetes_api_requests_total')?.get();
    expect(requests?.values.map((v) => v.value)).toEqual([0, 0]);
  });

  it('knows exactly two modes', () => {
    expect(KUBERNETES_STATUS_MODES).toEqual(['auto', 'off']);
  });
});
