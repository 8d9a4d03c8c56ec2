/**
 * Init mode in-process: registerOnce with the real SDK over real HTTP against the emulator, and the
 * Kubernetes status against the stand-in API server. An init container leaves only its exit code, its
 * termination message, the Event and the condition: the last two land before it returns.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { loadSidecarConfig } from '../../../src/config/settings.js';
import type { Emulator } from '../../../src/emulator/index.js';
import { initModeRefusal, registerOnce, terminationMessage } from '../../../src/sidecar/register.js';
import { clusterFixture, podEnv, startFakeApiServer, type ApiMode, type FakeApiServer } from '../../helpers/fake-apiserver.js';
import { emulator, meteringClient, REGION } from '../../helpers/emulator.js';
import { captureLogs } from '../../helpers/logs.js';
import { QUICK, testAwsClients, testSettings, licenseClient } from '../../helpers/sidecar.js';
import { tempDir } from '../../helpers/tmp.js';

const cluster = clusterFixture();
const apis: FakeApiServer[] = [];
afterEach(async () => {
  for (const a of apis.splice(0)) await a.close();
});

async function register(emu: Emulator, apiMode: ApiMode, options: { kubernetesFlushMs?: number; settings?: Record<string, string> } = {}) {
  const api = await startFakeApiServer(cluster.pki, apiMode);
  apis.push(api);
  const dir = tempDir();
  const config = loadSidecarConfig([], testSettings(emu, dir, options.settings), 'register');
  const logs = captureLogs();
  const snapshot = await registerOnce({
    config,
    env: { AWS_REGION: REGION, ...podEnv(api.port) },
    logger: logs.logger,
    signal: new AbortController().signal,
    version: '0.0.0-test',
    tuning: { retry: { throttled: QUICK, transient: QUICK, attemptTimeoutMs: 10_000 }, kubernetesRequestTimeoutMs: 60_000 },
    aws: testAwsClients(() => meteringClient(emu), (region) => licenseClient(emu, { region })),
    fileRoot: cluster.saRoot,
    ...(options.kubernetesFlushMs === undefined ? {} : { kubernetesFlushMs: options.kubernetesFlushMs }),
  });
  return { api, snapshot, logs, requestsAtReturn: [...api.requests] };
}

const conditions = (requests: FakeApiServer['requests']) =>
  requests.filter((q) => q.method === 'PATCH').map((q) => (q.body as { status: { conditions: { type: string; status: string; reason: string }[] } }).status.conditions[0]);
const events = (requests: FakeApiServer['requests']) => requests.filter((q) => q.method === 'POST').map((q) => (q.body as { reason: string; type: string }).reason);

describe('registerOnce', () => {
  it('entitled: the Entitled Event and the condition True have reached the API server when it returns', async () => {
    const emu = await emulator();
    const r = await register(emu, 'ok');
    expect(r.snapshot).toMatchObject({ status: 'entitled', code: 'ENTITLED' });
    expect(events(r.requestsAtReturn)).toEqual(['Entitled']);
    expect(conditions(r.requestsAtReturn)).toEqual([expect.objectContaining({ type: 'marketplace.aws/entitled', status: 'True', reason: 'Entitled' })]);
  });

  it('denied: the Warning Event and the condition False have reached the API server when it returns', async () => {
    const emu = await emulator({ mode: 'not-entitled' });
    const r = await register(emu, 'ok');
    expect(r.snapshot).toMatchObject({ status: 'not_entitled', code: 'CUSTOMER_NOT_ENTITLED' });
    expect(events(r.requestsAtReturn)).toEqual(['NotEntitled']);
    expect(conditions(r.requestsAtReturn)).toEqual([expect.objectContaining({ status: 'False', reason: 'NotEntitled' })]);
    expect(terminationMessage(r.snapshot)).toMatch(/^not_entitled \(CUSTOMER_NOT_ENTITLED\): .* Action: \S/);
  });

  it('an API server that never answers delays the exit by the flush bound only, and says so', async () => {
    const emu = await emulator();
    const r = await register(emu, 'silent', { kubernetesFlushMs: 200 });
    expect(r.snapshot).toMatchObject({ status: 'entitled' });
    expect(r.logs.lines.some((l) => l.level === 'warn' && l.msg === 'the pod Event and condition had not reached the Kubernetes API when register exited' && l.waitedMs === 200)).toBe(true);
  });

  it('refuses a configuration that needs a running process, before anything else', async () => {
    const emu = await emulator();
    const config = loadSidecarConfig([], testSettings(emu, tempDir(), { MARKETPLACE_USAGE_DIMENSIONS: 'Requests' }), 'register');
    expect(initModeRefusal(config)).toMatch(/^MARKETPLACE_USAGE_DIMENSIONS is set/);
    await expect(
      registerOnce({ config, env: {}, logger: captureLogs().logger, signal: new AbortController().signal, version: '0' }),
    ).rejects.toThrow(/usage metering needs a running sidecar/);
    expect(emu.state().totalCalls).toBe(0);
  });
});
