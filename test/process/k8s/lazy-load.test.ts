import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { clusterFixture, podEnv, startFakeApiServer } from '../../helpers/fake-apiserver.js';

/**
 * @kubernetes/client-node is loaded on the first outcome only, and never when Kubernetes status is off.
 * This process cannot tell (vitest and the other tests load it), so a fresh `node` does the sidecar's
 * part with module hooks that record every module Node loads: the answer is Node's, not a mock's.
 */

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const url = (path: string) => new URL(path, new URL('../../..', import.meta.url)).href;

/** Three lives in one process, the enabled one last (once loaded, a module stays loaded). */
const CHILD = `
import { register } from 'node:module';
const p = JSON.parse(process.env.PROBE);
register(p.hooks);
let asked = 0;
const loaded = async () => (await import('probe:loaded?' + asked++)).default;
const has = (urls, part) => urls.some((u) => u.includes(part));
const seen = async () => {
  const urls = await loaded();
  return { clientNode: has(urls, '/node_modules/@kubernetes/client-node/'), apiModule: has(urls, '/src/k8s/api.ts'), index: has(urls, '/src/k8s/index.ts') };
};
const { startKubernetesStatus } = await import(p.index);
const { kubernetesMetricsOn } = await import(p.metrics);
const { EntitlementState } = await import(p.state);
const { Registry } = await import('prom-client');
const { default: pino } = await import('pino');
const out = { imported: await seen() };
for (const [name, options] of [
  ['off', { mode: 'off', env: p.env }],
  ['notInCluster', { mode: 'auto', env: {} }],
  ['on', { mode: 'auto', env: p.env }],
]) {
  const status = startKubernetesStatus({ ...options, serviceAccountPrefix: p.sa, logger: pino({ level: 'silent' }), metrics: kubernetesMetricsOn(new Registry()), requestTimeoutMs: 5000 });
  await status.flush();
  const atStart = await seen();
  const state = new EntitlementState();
  state.subscribe(status.observer);
  state.set({ code: 'THROTTLED', message: 'attempt 1' });
  state.set({ code: 'ENTITLED', message: 'entitled' });
  await status.flush();
  out[name] = { enabled: status.enabled, atStart, afterOutcomes: await seen() };
}
console.log(JSON.stringify(out));
`;

const cluster = clusterFixture();

describe('loading @kubernetes/client-node', () => {
  it('never happens when Kubernetes status is off, nor before the first outcome when it is on', async () => {
    const api = await startFakeApiServer(cluster.pki);
    try {
      const probe = { hooks: url('test/helpers/import-probe-hooks.mjs'), index: url('src/k8s/index.ts'), metrics: url('src/k8s/metrics.ts'), state: url('src/sidecar/state.ts'), env: podEnv(api.port), sa: cluster.saRoot };
      // Asynchronous: the fake API server in this process must answer the child.
      const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', CHILD], {
        cwd: ROOT,
        env: { PATH: process.env.PATH, PROBE: JSON.stringify(probe) },
        timeout: 25_000,
      });
      const none = { clientNode: false, apiModule: false, index: true };
      expect(JSON.parse(stdout)).toEqual({
        imported: none,
        off: { enabled: false, atStart: none, afterOutcomes: none },
        notInCluster: { enabled: false, atStart: none, afterOutcomes: none },
        // The control: the probe does see the client once the first outcome needs it.
        on: { enabled: true, atStart: none, afterOutcomes: { clientNode: true, apiModule: true, index: true } },
      });
      // And that client did the work: an Event per outcome and two condition patches.
      expect(api.requests.map((r) => r.method).sort()).toEqual(['PATCH', 'PATCH', 'POST', 'POST']);
    } finally {
      await api.close();
    }
  });
});
