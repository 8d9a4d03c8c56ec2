/**
 * The container image, built from the project's Dockerfile by podman and run the way Kubernetes and
 * ECS run it (read-only root file system, all capabilities dropped, uid 65532, a writable entitlement
 * volume) against the Metering API emulator on 127.0.0.1.
 *
 * STAND-IN BASES: no container registry is reachable here or in CI, so the two base images the
 * Dockerfile names (docker.io/library/node:<v>-bookworm-slim for the build stage,
 * gcr.io/distroless/nodejs24-debian12:nonroot for the runtime) are local stand-ins made by
 * scripts/install-test-tools.sh (see test/deploy/standin/) and tagged with those names before each
 * build. The Dockerfile itself is built unchanged. The build stage's `npm ci` reaches the npm registry,
 * as it does in any image build; everything the tests send at run time goes to 127.0.0.1.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, httpGet, REPO_ROOT, waitFor } from './exec.js';
import {
  assertPrepared,
  HOST_ARCH,
  podman,
  podmanOk,
  readDockerfile,
  standInNames,
  startEmulator,
  type Arch,
} from './podman.js';

const dockerfile = readDockerfile();
const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
const IMAGE = (arch: Arch) => `localhost/marketplace-entitlement-sidecar:test-${arch}`;
const SELLER_IMAGE = 'localhost/marketplace-entitlement-sidecar-seller-example:test';
const CONTRACT_SELLER_IMAGE = 'localhost/marketplace-entitlement-sidecar-contract-seller-example:test';
const ENTRYPOINT = ['/nodejs/bin/node', '/app/entitlement-sidecar.mjs'];
const BUILD_TIMEOUT_MS = 600_000;
const SIDECAR_UID = 65532;
const EMULATOR_KEY = { id: 'AKIAEMULATOR00000001', secret: 'emulator/secret/access/key/0000000000001' };

let work: string;
let emulator: Awaited<ReturnType<typeof startEmulator>>;
const containers: string[] = [];
const buildMs: Partial<Record<Arch, number>> = {};

async function buildImage(arch: Arch): Promise<void> {
  const names = standInNames(dockerfile.nodeVersion);
  // The stand-ins under the names the Dockerfile uses: one name per base, so retag per target arch.
  await podmanOk(['tag', names.build, dockerfile.buildBase]);
  await podmanOk(['tag', names.runtime(arch), dockerfile.runtimeBase]);
  const r = await podmanOk(
    [
      'build',
      '--format', 'docker', // keeps HEALTHCHECK and STOPSIGNAL
      '--pull=never',
      '--platform', `linux/${arch}`,
      // buildah 1.28 (Debian 12) sets BUILDPLATFORM to the target platform; BuildKit sets it to the
      // builder's own. Say it explicitly so the build stage runs natively, as it does under buildx.
      '--build-arg', `BUILDPLATFORM=linux/${HOST_ARCH}`,
      // The machine's CA bundle for npm ci (HTTPS through this network's proxy); build-time only.
      '-v', '/etc/ssl/certs/ca-certificates.crt:/run/host-ca.crt:ro',
      '-v', `${join(work, 'npmrc')}:/usr/local/etc/npmrc:ro`,
      '-t', IMAGE(arch),
      '.',
    ],
    BUILD_TIMEOUT_MS,
  );
  buildMs[arch] = r.ms;
}

interface RunSpec {
  readonly arch?: Arch;
  readonly image?: string;
  readonly env: Record<string, string>;
  readonly volume: string;
  readonly port: number;
  readonly args?: readonly string[];
  /** Mount the emulator's public key at /etc/marketplace/public-key.pem (default true). */
  readonly mountKey?: boolean;
}

/** Runs the image detached the way the chart and the task definition do; returns the container name. */
async function runSidecar(spec: RunSpec): Promise<string> {
  const name = `es-test-${randomBytes(4).toString('hex')}`;
  containers.push(name);
  const env = {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: EMULATOR_KEY.id,
    AWS_SECRET_ACCESS_KEY: EMULATOR_KEY.secret,
    // One session token per container: the emulator, like AWS, tells tasks/pods apart by credentials.
    AWS_SESSION_TOKEN: `pod-${name}`,
    AWS_ENDPOINT_URL_MARKETPLACE_METERING: emulator.url,
    ENTITLEMENT_LISTEN: `127.0.0.1:${spec.port}`,
    ...spec.env,
  };
  await podmanOk([
    'run', '--detach', '--name', name,
    '--platform', `linux/${spec.arch ?? HOST_ARCH}`,
    '--read-only', '--cap-drop=ALL', '--user', String(SIDECAR_UID), '--security-opt=no-new-privileges',
    '--network=host',
    '-v', `${spec.volume}:/var/run/marketplace`,
    ...(spec.mountKey === false ? [] : ['-v', `${join(work, 'public-key.pem')}:/etc/marketplace/public-key.pem:ro`]),
    ...Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]),
    spec.image ?? IMAGE(spec.arch ?? HOST_ARCH),
    ...(spec.args ?? []),
  ]);
  return name;
}

/** A fresh host directory for the entitlement volume, owned by the sidecar's uid like an emptyDir. */
function volumeDir(): string {
  const dir = mkdtempSync(join(work, 'vol-'));
  chownSync(dir, SIDECAR_UID, SIDECAR_UID);
  return dir;
}

const logsOf = async (name: string) => {
  const r = await podman(['logs', name]);
  return r.stdout + r.stderr;
};

const describeContainer = (name: string) => async () => {
  const state = await podman(['inspect', name, '--format', '{{.State.Status}} exit={{.State.ExitCode}}']);
  return `container ${name}: ${state.stdout.trim()}\n${(await logsOf(name)).slice(-3000)}`;
};

/** `podman healthcheck run` (the image's HEALTHCHECK, i.e. the `check` command) and the status it leaves. */
async function healthcheck(name: string): Promise<{ code: number | null; out: string; status: string }> {
  const r = await podman(['healthcheck', 'run', name], 30_000);
  const status = await podmanOk(['inspect', name, '--format', '{{.State.Health.Status}}']);
  return { code: r.code, out: r.stdout.trim(), status: status.stdout.trim() };
}

async function setScenario(mode: string): Promise<void> {
  const res = await fetch(`${emulator.url}/_emulator/scenario`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ mode }),
    signal: AbortSignal.timeout(3000),
  });
  expect(res.status).toBe(200);
}

async function callsFor(productCode: string): Promise<{ outcome: string }[]> {
  const res = await fetch(`${emulator.url}/_emulator/calls`, { signal: AbortSignal.timeout(3000) });
  const { calls } = (await res.json()) as { calls: { productCode: string | null; operation: string; outcome: string }[] };
  return calls.filter((c) => c.productCode === productCode && c.operation === 'RegisterUsage');
}

async function imageSize(ref: string): Promise<number> {
  return Number((await podmanOk(['image', 'inspect', ref, '--format', '{{.Size}}'])).stdout.trim());
}

/** Sum of the layers (history entries) the Dockerfile's last stage adds on top of its base. */
async function appLayerBytes(image: string, base: string): Promise<number> {
  const hist = async (ref: string) =>
    JSON.parse((await podmanOk(['history', '--format', 'json', ref])).stdout) as { size: number }[];
  const all = await hist(image);
  const baseCount = (await hist(base)).length;
  return all.slice(0, all.length - baseCount).reduce((sum, h) => sum + h.size, 0);
}

const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;

beforeAll(async () => {
  await assertPrepared(dockerfile.nodeVersion);
  work = mkdtempSync(join(tmpdir(), 'entitlement-image-test-'));
  chmodSync(work, 0o755);
  writeFileSync(join(work, 'npmrc'), 'cafile=/run/host-ca.crt\n');
  emulator = await startEmulator(join(work, 'public-key.pem'));
  // The product's public key is public; the container user must be able to read the mounted file.
  chmodSync(join(work, 'public-key.pem'), 0o644);
  await buildImage('amd64');
  await buildImage('arm64');
}, 2 * BUILD_TIMEOUT_MS + 60_000);

afterAll(async () => {
  for (const name of containers) await podman(['rm', '--force', '--time', '0', name], 30_000);
  await emulator?.stop();
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
}, 120_000);

describe('the image (built by podman from the Dockerfile; stand-in bases)', () => {
  it('is built for linux/amd64 and linux/arm64, sharing one build stage run on the build platform', async () => {
    const info: Record<string, unknown> = {};
    for (const arch of ['amd64', 'arm64'] as const) {
      const arch2 = (await podmanOk(['image', 'inspect', IMAGE(arch), '--format', '{{.Os}}/{{.Architecture}}'])).stdout.trim();
      expect(arch2).toBe(`linux/${arch}`);
      const size = await imageSize(IMAGE(arch));
      const base = await imageSize(standInNames(dockerfile.nodeVersion).runtime(arch));
      const app = await appLayerBytes(IMAGE(arch), standInNames(dockerfile.nodeVersion).runtime(arch));
      info[arch] = { buildSeconds: (buildMs[arch] ?? 0) / 1000, image: mb(size), base: mb(base), appLayers: mb(app) };
      // The app is the bundle (an entry and its chunks): the layers on top of the Node base stay small.
      expect(app).toBeGreaterThan(100_000);
      expect(app).toBeLessThan(10_000_000);
    }
    console.log(`image sizes (uncompressed): ${JSON.stringify(info)}`);
    // The same bundle in both images: the JS was built once, on the build platform, not per architecture.
    const digest = async (arch: Arch) =>
      (await podmanOk([
        'run', '--rm', '--network=none', '--platform', `linux/${arch}`, '--entrypoint', '/nodejs/bin/node', IMAGE(arch), '-p',
        // Every file of the bundle, in a fixed order: the entry and its chunks.
        "const fs=require('fs'),h=require('crypto').createHash('sha256');for(const f of ['entitlement-sidecar.mjs',...fs.readdirSync('/app/chunks').sort().map(c=>'chunks/'+c)]){h.update(f);h.update(fs.readFileSync('/app/'+f))}h.digest('hex')",
      ], 60_000)).stdout.trim();
    const amd = await digest('amd64');
    expect(amd).toMatch(/^[0-9a-f]{64}$/);
    expect(await digest('arm64')).toBe(amd);
  }, 90_000);

  it('runs as numeric uid 65532 with an exec-form entrypoint, a `check` HEALTHCHECK, SIGTERM and OCI labels', async () => {
    const inspect = async (field: string) =>
      JSON.parse((await podmanOk(['image', 'inspect', IMAGE(HOST_ARCH), '--format', `{{json ${field}}}`])).stdout) as unknown;
    const healthcheck = (await inspect('.HealthCheck')) as { Test: string[] };
    const cfg = (await inspect('.Config')) as {
      User: string;
      Entrypoint: string[];
      Cmd: string[];
      StopSignal: string;
      Labels: Record<string, string>;
      Env: string[];
      Volumes: Record<string, unknown>;
      ExposedPorts: Record<string, unknown>;
    };
    expect(cfg.User).toBe('65532:65532');
    expect(cfg.Entrypoint).toEqual(ENTRYPOINT);
    expect(cfg.Cmd).toEqual(['run']);
    expect(healthcheck.Test).toEqual(['CMD', ...ENTRYPOINT, 'check']);
    expect(cfg.StopSignal).toBe('SIGTERM');
    expect(cfg.Labels['org.opencontainers.image.version']).toBe(pkg.version);
    expect(cfg.Labels['org.opencontainers.image.title']).toBe('marketplace-entitlement-sidecar');
    expect(cfg.Labels['org.opencontainers.image.licenses']).toBe('Apache-2.0');
    expect(cfg.Labels['org.opencontainers.image.base.name']).toBe(dockerfile.runtimeBase);
    expect(cfg.Env).toContain('ENTITLEMENT_FILE=/var/run/marketplace/entitlement.json');
    expect(cfg.Env).toContain('ENTITLEMENT_LISTEN=0.0.0.0:9797');
    expect(Object.keys(cfg.Volumes)).toEqual(['/var/run/marketplace']);
    expect(Object.keys(cfg.ExposedPorts)).toEqual(['9797/tcp']);
    // The bundle reports the package version (no package.json in the image).
    const v = await podmanOk(['run', '--rm', '--network=none', '--read-only', IMAGE(HOST_ARCH), 'version']);
    expect(v.stdout.trim()).toBe(pkg.version);
  });

  it('holds no shell, no npm and no node_modules: only Node and the bundle', async () => {
    for (const path of ['/bin/sh', '/bin/bash', '/usr/bin/sh', '/busybox/sh']) {
      const r = await podman(['run', '--rm', '--network=none', '--entrypoint', path, IMAGE(HOST_ARCH), '-c', 'true']);
      expect(r.code, `${path} should not exist`).not.toBe(0);
    }
    const probe = await podmanOk([
      'run', '--rm', '--network=none', '--entrypoint', '/nodejs/bin/node', IMAGE(HOST_ARCH), '-p',
      `const fs=require('fs');const chunks=fs.readdirSync('/app/chunks');JSON.stringify({app:fs.readdirSync('/app'),chunksReadOnly:chunks.length>0&&chunks.every(c=>(fs.statSync('/app/chunks/'+c).mode&0o777)===0o444&&fs.statSync('/app/chunks/'+c).uid===0),nm:fs.existsSync('/app/node_modules')||fs.existsSync('/node_modules'),npm:fs.existsSync('/usr/local/bin/npm')||fs.existsSync('/nodejs/bin/npm'),mode:(fs.statSync('/app/entitlement-sidecar.mjs').mode&0o777).toString(8),owner:fs.statSync('/app/entitlement-sidecar.mjs').uid,vol:fs.statSync('/var/run/marketplace').uid})`,
    ]);
    expect(JSON.parse(probe.stdout)).toEqual({ app: ['chunks', 'compile-cache', 'entitlement-sidecar.mjs'], chunksReadOnly: true, nm: false, npm: false, mode: '444', owner: 0, vol: SIDECAR_UID });
  });

  it('ships a read-only compile cache made for uid 65532 that a start uses for every module and never rewrites', async () => {
    const config = await podmanOk(['image', 'inspect', IMAGE(HOST_ARCH), '--format', '{{json .Config.Env}}']);
    expect(JSON.parse(config.stdout)).toContain('NODE_COMPILE_CACHE=/app/compile-cache');
    const files = await podmanOk([
      'run', '--rm', '--network=none', '--entrypoint', '/nodejs/bin/node', IMAGE(HOST_ARCH), '-p',
      `const fs=require('fs'),p=require('path');const walk=(d)=>fs.readdirSync(d).flatMap((f)=>{const x=p.join(d,f);return fs.statSync(x).isDirectory()?[x+'/',...walk(x)]:[x]});JSON.stringify(walk('/app/compile-cache').map((x)=>{const s=fs.statSync(x);return [x.replace(/[0-9a-f]{8}$/,'<hash>'),(s.mode&0o777).toString(8),s.uid]}))`,
    ]);
    const entries = JSON.parse(files.stdout) as [string, string, number][];
    // One directory for this Node build and the runtime uid (Node keys the cache by both), owned by root, read-only.
    const dirs = entries.filter(([path]) => path.endsWith('/'));
    expect(dirs).toHaveLength(1);
    expect(dirs[0]?.[0]).toMatch(new RegExp(`^/app/compile-cache/v\\d+\\.\\d+\\.\\d+-x64-[0-9a-f]+-${SIDECAR_UID}/$`));
    expect(entries.every(([path, mode, uid]) => uid === 0 && mode === (path.endsWith('/') ? '555' : '444'))).toBe(true);
    expect(entries.length).toBeGreaterThan(20);

    // init mode in the image, read-only, uid 65532: entitled, and every module came from the cache.
    const vol = volumeDir();
    const productCode = `prod-${randomBytes(4).toString('hex')}`;
    const name = await runSidecar({
      env: { MARKETPLACE_PRODUCT_CODE: productCode, MARKETPLACE_PUBLIC_KEY_FILE: '/etc/marketplace/public-key.pem', NODE_DEBUG_NATIVE: 'COMPILE_CACHE' },
      volume: vol,
      port: await freePort(),
      args: ['register'],
    });
    const exit = await podmanOk(['wait', name], 60_000);
    expect(exit.stdout.trim()).toBe('0');
    expect(existsSync(join(vol, 'entitlement.json'))).toBe(true);
    const log = await logsOf(name);
    const loaded = [...log.matchAll(/V8 code cache for ESM (\S+) was (\w+)/g)];
    expect(loaded.length).toBeGreaterThan(10);
    expect(loaded.filter((m) => m[2] !== 'accepted')).toEqual([]);
    expect(log).not.toMatch(/writing cache|was rejected|cannot create|permission denied/i);
    expect(log).toMatch(/"msg":"register exiting"/);
  });

  it('runs read-only with all capabilities dropped as uid 65532: writes the entitlement file, is healthy, stops promptly with 0', async () => {
    const vol = volumeDir();
    const port = await freePort();
    const productCode = `prod-${randomBytes(4).toString('hex')}`;
    const name = await runSidecar({
      env: { MARKETPLACE_PRODUCT_CODE: productCode, MARKETPLACE_PUBLIC_KEY_FILE: '/etc/marketplace/public-key.pem' },
      volume: vol,
      port,
    });
    const file = join(vol, 'entitlement.json');
    await waitFor('the entitlement file', async () => (existsSync(file) ? true : undefined), {
      deadlineMs: 20_000,
      describe: describeContainer(name),
    });
    const record = JSON.parse(readFileSync(file, 'utf8')) as { productCode: string; publicKeyVersion: number; signature: string };
    expect(record.productCode).toBe(productCode);
    expect(record.publicKeyVersion).toBe(1);
    expect(record.signature.split('.')).toHaveLength(3);
    const st = statSync(file);
    expect(st.uid).toBe(SIDECAR_UID);
    // Readable by the app container, whatever uid it runs as.
    expect(st.mode & 0o777).toBe(0o644);

    const health = await httpGet(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toMatchObject({ status: 'entitled', code: 'ENTITLED' });
    expect((await httpGet(`http://127.0.0.1:${port}/livez`)).status).toBe(200);
    expect((await httpGet(`http://127.0.0.1:${port}/metrics`)).body).toMatch(/^# HELP /m);

    const hc = await healthcheck(name);
    expect(hc).toEqual({ code: 0, out: '', status: 'healthy' });

    // Resident memory of the sidecar (PID 1), against the memory limit the chart sets.
    const rss = await podmanOk(['exec', name, '/nodejs/bin/node', '-p', "/VmRSS:\\s+(\\d+)/.exec(require('fs').readFileSync('/proc/1/status','utf8'))[1]"]);
    const rssMiB = Number(rss.stdout.trim()) / 1024;
    const limit = (parse(readFileSync(join(REPO_ROOT, 'charts', 'entitlement-sidecar', 'values.yaml'), 'utf8')) as { resources: { limits: { memory: string } } }).resources.limits.memory;
    console.log(`sidecar resident memory when entitled: ${rssMiB.toFixed(1)} MiB (chart limit ${limit})`);
    expect(rssMiB).toBeGreaterThan(10);
    expect(rssMiB).toBeLessThan(Number(/^(\d+)Mi$/.exec(limit)?.[1]) * 0.75);
    // Nothing was written outside the volume (the root file system is read-only anyway); podman's own
    // mount point for the key file is the only difference from the image.
    const diff = (await podmanOk(['diff', name])).stdout.trim().split('\n');
    expect(diff.filter((l) => !['C /etc', 'A /etc/marketplace', 'A /etc/marketplace/public-key.pem'].includes(l))).toEqual([]);

    const stop = await podmanOk(['stop', '--time', '10', name], 30_000);
    const exit = await podmanOk(['inspect', name, '--format', '{{.State.ExitCode}}']);
    expect(exit.stdout.trim()).toBe('0');
    // SIGTERM is handled: well inside the 10 s after which podman would SIGKILL.
    expect(stop.ms).toBeLessThan(5000);
    expect(await logsOf(name)).toMatch(/"msg":"stopping"/);
    expect(await callsFor(productCode)).toEqual([expect.objectContaining({ outcome: 'success' })]);
  });

  it('is unhealthy when the customer is not subscribed, says why in its logs, and stays denied after a restart', async () => {
    const vol = volumeDir();
    const port = await freePort();
    const productCode = `prod-${randomBytes(4).toString('hex')}`;
    await setScenario('not-entitled');
    let name: string;
    try {
      name = await runSidecar({
        env: { MARKETPLACE_PRODUCT_CODE: productCode, MARKETPLACE_PUBLIC_KEY_FILE: '/etc/marketplace/public-key.pem' },
        volume: vol,
        port,
      });
      await waitFor('the denial record', async () => (existsSync(join(vol, 'entitlement.json.denied')) ? true : undefined), {
        deadlineMs: 20_000,
        describe: describeContainer(name),
      });
    } finally {
      await setScenario('entitled');
    }
    expect(existsSync(join(vol, 'entitlement.json'))).toBe(false);
    const health = await httpGet(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).toBe(503);
    expect(JSON.parse(health.body)).toMatchObject({ status: 'not_entitled', code: 'CUSTOMER_NOT_ENTITLED' });
    expect(await healthcheck(name)).toMatchObject({ code: 1, out: 'unhealthy' });
    expect(await logsOf(name)).toMatch(/"level":"error".*CustomerNotEntitledException/);

    // A restarted container in the same pod/task (same volume) must not be let through: AWS reports the
    // denial on the first call only. The emulator would now say "entitled" to a second call.
    await podmanOk(['restart', '--time', '10', name], 30_000);
    await waitFor('the restarted sidecar to report the remembered denial', async () => {
      const h = await httpGet(`http://127.0.0.1:${port}/healthz`);
      return h.status === 503 && /denied earlier/.test(h.body) ? h : undefined;
    }, { deadlineMs: 20_000, describe: describeContainer(name) });
    expect(await healthcheck(name)).toMatchObject({ code: 1, out: 'unhealthy' });
    expect(await callsFor(productCode)).toEqual([expect.objectContaining({ outcome: 'CustomerNotEntitledException' })]);
    await podmanOk(['stop', '--time', '10', name], 30_000);
  });

  it('answers /healthz on linux/arm64 (Graviton) under qemu emulation', async () => {
    const vol = volumeDir();
    const port = await freePort();
    const productCode = `prod-${randomBytes(4).toString('hex')}`;
    const name = await runSidecar({
      arch: 'arm64',
      env: { MARKETPLACE_PRODUCT_CODE: productCode, MARKETPLACE_PUBLIC_KEY_FILE: '/etc/marketplace/public-key.pem' },
      volume: vol,
      port,
    });
    const health = await waitFor('an arm64 /healthz 200', async () => {
      const h = await httpGet(`http://127.0.0.1:${port}/healthz`);
      return h.status === 200 ? h : undefined;
    }, { deadlineMs: 60_000, intervalMs: 500, describe: describeContainer(name) });
    expect(JSON.parse(health.body)).toMatchObject({ status: 'entitled' });
    const arch = await podmanOk(['exec', name, '/nodejs/bin/node', '-p', 'process.arch'], 60_000);
    expect(arch.stdout.trim()).toBe('arm64');
    expect(existsSync(join(vol, 'entitlement.json'))).toBe(true);
    await podmanOk(['stop', '--time', '10', name], 30_000);
  }, 120_000);

  it('exits 2 on invalid configuration and names every problem', async () => {
    const name = await runSidecar({ env: { MARKETPLACE_PUBLIC_KEY_VERSION: '0' }, volume: volumeDir(), port: await freePort() });
    const wait = await podmanOk(['wait', name], 30_000);
    expect(wait.stdout.trim()).toBe('2');
    const logs = await logsOf(name);
    expect(logs).toMatch(/MARKETPLACE_PRODUCT_CODE is required/);
    expect(logs).toMatch(/MARKETPLACE_PUBLIC_KEY_VERSION must be an integer >= 1/);
    expect(logs).toMatch(/MARKETPLACE_PUBLIC_KEY_FILE or MARKETPLACE_PUBLIC_KEY is required/);
  });

  it('serves as the base of a seller image that bakes in the product code and key (examples/seller-image)', async () => {
    const ctx = join(work, 'seller-image');
    cpSync(join(REPO_ROOT, 'examples', 'seller-image'), ctx, { recursive: true });
    // The seller's own key would go here; the emulator's key stands in for it.
    cpSync(join(work, 'public-key.pem'), join(ctx, 'product-public-key.pem'));
    const productCode = `prod-${randomBytes(4).toString('hex')}`;
    await podmanOk([
      'build', '--format', 'docker', '--pull=never', '--platform', `linux/${HOST_ARCH}`,
      '--build-arg', `SIDECAR_IMAGE=${IMAGE(HOST_ARCH)}`,
      '--build-arg', `PRODUCT_CODE=${productCode}`,
      '--build-arg', 'PUBLIC_KEY_VERSION=1',
      '-t', SELLER_IMAGE, ctx,
    ], 120_000);
    const env = (await podmanOk(['image', 'inspect', SELLER_IMAGE, '--format', '{{json .Config.Env}}'])).stdout;
    expect(JSON.parse(env)).toEqual(expect.arrayContaining([
      `MARKETPLACE_PRODUCT_CODE=${productCode}`,
      'MARKETPLACE_PUBLIC_KEY_VERSION=1',
      `MARKETPLACE_TRUSTED_PRODUCT_CODES=${productCode}`,
      'MARKETPLACE_PUBLIC_KEY_FILE=/etc/marketplace/product-public-key.pem',
    ]));
    // Nothing product-specific is passed at run time: only what the platform (IRSA / task role) injects.
    const vol = volumeDir();
    const port = await freePort();
    const name = await runSidecar({ image: SELLER_IMAGE, env: {}, volume: vol, port, mountKey: false });
    await waitFor('the seller image to be entitled', async () => {
      const h = await httpGet(`http://127.0.0.1:${port}/healthz`);
      return h.status === 200 ? h : undefined;
    }, { deadlineMs: 20_000, describe: describeContainer(name) });
    expect(JSON.parse(readFileSync(join(vol, 'entitlement.json'), 'utf8'))).toMatchObject({ productCode });

    // A buyer who swaps the product code for another (say, a free product's) is refused at start.
    const tampered = await runSidecar({
      image: SELLER_IMAGE,
      env: { MARKETPLACE_PRODUCT_CODE: 'free-product-code' },
      mountKey: false,
      volume: volumeDir(),
      port: await freePort(),
    });
    expect((await podmanOk(['wait', tampered], 30_000)).stdout.trim()).toBe('2');
    expect(await logsOf(tampered)).toMatch(/not one of MARKETPLACE_TRUSTED_PRODUCT_CODES/);
    await podmanOk(['stop', '--time', '10', name], 30_000);
  }, 180_000);

  it('serves as the base of a contract seller image that bakes in the SKU and entitlements (examples/seller-image-license-manager)', async () => {
    const sku = '3f6c1a2e-8b4d-4c7e-9a1f-5d2b6e8c0a13';
    const licenses = join(work, 'licenses.json');
    // The license the emulator holds for the buyer (the emulator's default account): PremiumTier.
    writeFileSync(licenses, JSON.stringify([{ beneficiaryAccountId: '111122223333', productSku: sku, entitlements: [{ name: 'PremiumTier', unit: 'None' }] }]));
    const lm = await startEmulator(join(work, 'lm-public-key.pem'), ['--licenses', licenses]);
    try {
      const ctx = join(work, 'seller-image-license-manager');
      cpSync(join(REPO_ROOT, 'examples', 'seller-image-license-manager'), ctx, { recursive: true });
      await podmanOk([
        'build', '--format', 'docker', '--pull=never', '--platform', `linux/${HOST_ARCH}`,
        '--build-arg', `SIDECAR_IMAGE=${IMAGE(HOST_ARCH)}`,
        '--build-arg', `PRODUCT_SKU=${sku}`,
        '--build-arg', 'LICENSE_ENTITLEMENTS=BasicTier:None,PremiumTier:None',
        '-t', CONTRACT_SELLER_IMAGE, ctx,
      ], 120_000);
      const env = (await podmanOk(['image', 'inspect', CONTRACT_SELLER_IMAGE, '--format', '{{json .Config.Env}}'])).stdout;
      expect(JSON.parse(env)).toEqual(expect.arrayContaining([
        'ENTITLEMENT_SOURCE=license-manager',
        `MARKETPLACE_PRODUCT_SKU=${sku}`,
        `MARKETPLACE_TRUSTED_PRODUCT_SKUS=${sku}`,
        'MARKETPLACE_LICENSE_ENTITLEMENTS=BasicTier:None,PremiumTier:None',
        'MARKETPLACE_LICENSE_CHECKOUT_TYPE=PROVISIONAL',
      ]));
      // Only what the platform injects (credentials, region) and the endpoint of the emulator.
      const vol = volumeDir();
      const port = await freePort();
      const name = await runSidecar({ image: CONTRACT_SELLER_IMAGE, env: { AWS_ENDPOINT_URL_LICENSE_MANAGER: lm.url }, volume: vol, port, mountKey: false });
      await waitFor('the contract seller image to be entitled', async () => {
        const h = await httpGet(`http://127.0.0.1:${port}/healthz`);
        return h.status === 200 ? h : undefined;
      }, { deadlineMs: 20_000, describe: describeContainer(name) });
      const file = JSON.parse(readFileSync(join(vol, 'entitlement.json'), 'utf8')) as Record<string, unknown>;
      expect(file).toMatchObject({ source: 'license-manager', productSku: sku, entitlements: [{ name: 'PremiumTier', unit: 'None', value: null }] });
      expect(statSync(join(vol, 'entitlement.json.checkout')).mode & 0o777).toBe(0o600);
      const held = async () => {
        const r = await httpGet(`${lm.url}/_emulator/consumptions`);
        return (JSON.parse(r.body) as { consumptions: { active: boolean }[] }).consumptions.filter((c) => c.active).length;
      };
      expect(await held()).toBe(1);
      // SIGTERM: the seat goes back before the container exits 0.
      await podmanOk(['stop', '--time', '10', name], 30_000);
      expect((await podmanOk(['inspect', name, '--format', '{{.State.ExitCode}}'])).stdout.trim()).toBe('0');
      expect(await held()).toBe(0);
      expect(await logsOf(name)).toMatch(/"msg":"license checked in"/);

      // A buyer who swaps in another SKU is refused at start.
      const tampered = await runSidecar({
        image: CONTRACT_SELLER_IMAGE,
        env: { AWS_ENDPOINT_URL_LICENSE_MANAGER: lm.url, MARKETPLACE_PRODUCT_SKU: '00000000-0000-4000-8000-000000000000' },
        mountKey: false,
        volume: volumeDir(),
        port: await freePort(),
      });
      expect((await podmanOk(['wait', tampered], 30_000)).stdout.trim()).toBe('2');
      expect(await logsOf(tampered)).toMatch(/not one of MARKETPLACE_TRUSTED_PRODUCT_SKUS/);
    } finally {
      await lm.stop();
    }
  }, 180_000);
});
