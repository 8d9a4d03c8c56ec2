#!/usr/bin/env node
// npm run bench: the figures behind the README's performance table, measured here against the emulator,
// the way the image runs the sidecar: the bundle on Node 24 with a compile cache made as the Dockerfile
// makes it (scripts/compile-cache.mjs). For each mode, `run` (the sidecar) and `register` (init mode):
//   1. time from process start to entitled, side by side in one run with a bare script that only makes
//      the SDK call (bench/bare-register.mjs, Node 24, no cache: what most vendors hand-write), as a ratio;
//      CPU seconds per start (what a node pays when many pods start at once); peak and steady RSS;
//   2. the same memory with Kubernetes status on, against a stand-in API server (the real
//      @kubernetes/client-node over TLS on 127.0.0.1; needs root for a private mount namespace);
//   3. fleet bursts: N processes at once against the emulator's 5 RegisterUsage/s per account, judged
//      from the endpoint's first request;
//   4. /healthz under load (autocannon);
//   5. where start-up time goes, from the sidecar's own `startupMs` log field;
// then every goal beside its figure. Options: --runs N (default 9), --fleet 100 (comma list),
// --fleet-runs N (default 3). All traffic stays on 127.0.0.1. Figures go to bench/last-run.json too.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { DEFAULT_EMULATOR_CREDENTIALS, startEmulator } from '../dist/emulator/index.js';
import { table } from './table.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const UNBUNDLED = join(root, 'dist/cli/main.js');
const BARE = join(root, 'bench/bare-register.mjs');
const MEASURE = join(root, 'bench/measure.py');
const PRODUCT = 'prod-bench000000000000000';
const REGION = 'us-east-1';
const GOAL = { startRatio: 1.0, peakMiB: 60, fleetRatio: 1.2, healthzP99Ms: 5 };

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : process.argv[i + 1];
};
const RUNS = Number(arg('runs', '9'));
const FLEET = arg('fleet', '100').split(',').map(Number);
const FLEET_RUNS = Number(arg('fleet-runs', '3'));

const median = (xs) => {
  const s = [...xs].filter((x) => x !== undefined && !Number.isNaN(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmt = (n, d = 0) => (n === undefined || Number.isNaN(n) ? 'n/a' : n.toFixed(d));

const work = mkdtempSync(join(tmpdir(), 'entitlement-bench-'));
const keyFile = join(work, 'product.pem');
const cred = DEFAULT_EMULATOR_CREDENTIALS[0];

// The image's way: Node 24, the bundle at a fixed path, its compile cache made by the same script and the
// same uid that will run it (Node keys the cache by Node build, flags, uid and path).
const NODE24 = execFileSync('bash', [join(root, 'scripts/node24.sh')], { encoding: 'utf8' }).trim();
const APP = join(work, 'app');
cpSync(join(root, 'dist/bundle'), APP, { recursive: true });
const BUNDLE = join(APP, 'entitlement-sidecar.mjs');
const CACHE = join(work, 'compile-cache');
execFileSync(NODE24, [BUNDLE, 'version'], { env: { ...process.env, NODE_COMPILE_CACHE: CACHE }, stdio: 'ignore' });
execFileSync(NODE24, [join(root, 'scripts/compile-cache.mjs'), APP, CACHE], { stdio: ['ignore', 'ignore', 'ignore'] });

function baseEnv(emu, extra = {}) {
  return {
    PATH: process.env.PATH,
    HOME: work,
    AWS_REGION: REGION,
    AWS_ENDPOINT_URL_MARKETPLACE_METERING: emu.url,
    AWS_ACCESS_KEY_ID: cred.accessKeyId,
    AWS_SECRET_ACCESS_KEY: cred.secretAccessKey,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    MARKETPLACE_PRODUCT_CODE: PRODUCT,
    MARKETPLACE_PUBLIC_KEY_FILE: keyFile,
    ENTITLEMENT_LISTEN: '127.0.0.1:0',
    ENTITLEMENT_KUBERNETES_STATUS: 'off',
    ...extra,
  };
}

function measure(command, env, untilLine, wrapper = []) {
  return new Promise((resolve, reject) => {
    const args = [...wrapper, '/usr/bin/python3', MEASURE, ...(untilLine === undefined ? [] : ['--until-line', untilLine]), ...command];
    const child = spawn(args[0], args.slice(1), { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`measure exited ${code}: ${out}`))));
  });
}

let podCounter = 0;
function podDir() {
  const dir = join(work, `pod-${podCounter++}`);
  mkdirSync(dir);
  return dir;
}
const podEnv = (emu, extra = {}) => baseEnv(emu, { ENTITLEMENT_FILE: join(podDir(), 'entitlement.json'), ...extra });

/** The variants of section 1; `mode` names the sidecar's, the others are references. */
const VARIANTS = [
  { key: 'run', name: '`run`, bundle on Node 24 + compile cache (the image)', cmd: () => [NODE24, BUNDLE, 'run'], until: '"msg":"entitled"', cache: true, mode: 'run' },
  { key: 'register', name: '`register`, bundle on Node 24 + compile cache (the image)', cmd: () => [NODE24, BUNDLE, 'register'], cache: true, mode: 'register' },
  { key: 'bare', name: 'bare SDK script on Node 24 (no verification, no cache)', cmd: () => [NODE24, BARE] },
  { key: 'runNoCache', name: '`run`, bundle on Node 24 without the cache', cmd: () => [NODE24, BUNDLE, 'run'], until: '"msg":"entitled"' },
  { key: 'runNpm', name: '`run`, dist/ as npm installs it, on Node 24', cmd: () => [NODE24, UNBUNDLED, 'run'], until: '"msg":"entitled"' },
];

async function startupSection(emu) {
  console.log(`\n## 1. Start to entitled, ${RUNS} runs each, interleaved (medians)\n`);
  console.log('`run` is timed to its `entitled` log line (file written, /healthz 200); `register` and the bare script to their exit.\n');
  const results = new Map(VARIANTS.map((v) => [v.key, []]));
  // Interleaved so drift in machine load touches every variant alike.
  for (let run = 0; run < RUNS; run++) {
    for (const v of VARIANTS) {
      const env = v.mode === undefined && v.key === 'bare' ? baseEnv(emu) : podEnv(emu, v.cache ? { NODE_COMPILE_CACHE: CACHE } : {});
      const r = await measure(v.cmd(), env, v.until);
      if (r.elapsedMs === null || r.exitCode !== 0) throw new Error(`${v.name} did not succeed: ${JSON.stringify(r).slice(0, 2000)}`);
      results.get(v.key).push(r);
    }
  }
  const bare = median(results.get('bare').map((r) => r.elapsedMs));
  const summary = {};
  const rows = VARIANTS.map((v) => {
    const rs = results.get(v.key);
    const ms = median(rs.map((r) => r.elapsedMs));
    summary[v.key] = {
      ms,
      ratio: ms / bare,
      cpuSeconds: median(rs.map((r) => r.cpuSeconds)),
      peakMiB: Math.max(...rs.map((r) => r.maxRssKiB)) / 1024,
      phases: v.until === undefined ? undefined : rs.map((r) => JSON.parse(r.matched).startupMs),
    };
    return [v.name, fmt(ms), fmt(ms / bare, 2), fmt(summary[v.key].cpuSeconds, 3), fmt(median(rs.map((r) => r.maxRssKiB)) / 1024, 1), fmt(summary[v.key].peakMiB, 1)];
  });
  table(['variant', 'start to entitled (ms)', 'ratio to bare SDK', 'CPU s per start', 'peak RSS median (MiB)', 'peak RSS worst (MiB)'], rows);
  return summary;
}

/** VmRSS of a running process, MiB. */
const rssMiB = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
/** VmHWM (peak RSS) of a running process, MiB. */
const hwmMiB = (pid) => Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
/**
 * Of the resident memory now: the process's own (anonymous: heap, stacks, buffers) and file-backed pages
 * (the Node binary's code and data above all; shared, through the page cache, by every container
 * started from the same image on a node, and reclaimable).
 */
const rssSplitMiB = (pid) => {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (name) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)[1]);
  return { anon: kib('RssAnon') / 1024, file: (kib('RssFile') + kib('RssShmem')) / 1024 };
};

/** Starts a `run` sidecar and resolves, once it is entitled, with the process and the port it serves on. */
async function entitledSidecar(env, command = [NODE24, BUNDLE, 'run']) {
  const child = spawn(command[0], command.slice(1), { env, stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (c) => {
      buf += c;
      const m = /"msg":"entitled"/.test(buf) && /"listen":"[^"]*:(\d+)"/.exec(buf);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`sidecar exited ${code}: ${buf.slice(-2000)}`)));
  });
  child.stdout.resume();
  return { child, port };
}

/** A `run` sidecar until entitled, then /metrics scraped once and 3 s of idling: its steady RSS. */
async function steadyRun(env, command) {
  const { child, port } = await entitledSidecar(env, command);
  const pid = findNodePid(child.pid);
  const atEntitled = hwmMiB(pid);
  await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text());
  await new Promise((r) => setTimeout(r, 3000));
  const steady = rssMiB(pid);
  const split = rssSplitMiB(pid);
  const peak = hwmMiB(pid);
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  return { atEntitled, steady, peak, anon: split.anon, file: split.file };
}

/** The Node process itself, when `pid` is a wrapper (unshare, bash) that runs it as a child. */
function findNodePid(pid) {
  for (let depth = 0; depth < 4; depth++) {
    const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    if (comm === 'node' || comm.startsWith('node')) return pid;
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    if (children.length === 0) return pid;
    pid = Number(children[0]);
  }
  return pid;
}

const summarize = (runs) => Object.fromEntries(['atEntitled', 'peak', 'steady', 'anon', 'file'].map((k) => [k, median(runs.map((o) => o[k]))]));

async function memorySection(emu) {
  console.log('\n## 2. Memory, entitled (the image\'s way: bundle, Node 24, compile cache)\n');
  const outside = [];
  for (let i = 0; i < 3; i++) outside.push(await steadyRun(podEnv(emu, { NODE_COMPILE_CACHE: CACHE })));
  const inCluster = await inClusterMemory(emu);
  const row = (name, runs) =>
    runs === undefined
      ? [name, 'n/a (needs root)', 'n/a', 'n/a', 'n/a', 'n/a']
      : [name, ...['atEntitled', 'peak', 'steady', 'anon', 'file'].map((k) => fmt(median(runs.map((o) => o[k])), 1))];
  const rows = [row('`run`, outside a cluster', outside), row('`run`, in a cluster (Kubernetes status on)', inCluster), ['`register`', 'see section 1', 'see section 1', '0 (exited)', '0', '0']];
  table(['mode', 'peak RSS to entitled (MiB)', 'peak RSS after /metrics (MiB)', 'steady RSS (MiB)', 'of it the process\'s own (MiB)', 'of it file-backed, shared (MiB)'], rows);
  console.log('\nSteady: 3 s after entitled, /metrics scraped once (prom-client is loaded after the first answer). The process\'s own:');
  console.log('RssAnon (heap, stacks, buffers); file-backed: RssFile + RssShmem, mostly the Node binary\'s pages, which every container');
  console.log('started from the same image on a node shares through the page cache.');
  return {
    outside: summarize(outside),
    inCluster: inCluster === undefined ? undefined : summarize(inCluster),
  };
}

/**
 * A stand-in API server (Events and pods/status, as test/helpers/fake-apiserver.ts answers them) over
 * TLS with a throwaway CA, and the pod's service-account files at the path the client reads, in a
 * private mount namespace (a tmpfs on /run): the real client is loaded and talks to it.
 */
async function inClusterMemory(emu) {
  if (process.getuid?.() !== 0) return undefined;
  const pki = join(work, 'pki');
  mkdirSync(pki);
  const ssl = (...a) => execFileSync('openssl', a, { stdio: ['ignore', 'ignore', 'pipe'] });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  ssl('req', '-x509', ...ec, '-keyout', join(pki, 'ca.key'), '-out', join(pki, 'ca.crt'), '-days', '2', '-subj', '/CN=bench-ca', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  ssl('req', ...ec, '-keyout', join(pki, 'server.key'), '-out', join(pki, 'server.csr'), '-subj', '/CN=kube-apiserver');
  writeFileSync(join(pki, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n');
  ssl('x509', '-req', '-in', join(pki, 'server.csr'), '-CA', join(pki, 'ca.crt'), '-CAkey', join(pki, 'ca.key'), '-CAcreateserial', '-out', join(pki, 'server.crt'), '-days', '2', '-extfile', join(pki, 'ext.cnf'));
  const sa = join(work, 'serviceaccount');
  mkdirSync(sa);
  writeFileSync(join(sa, 'token'), 'bench-service-account-token');
  cpSync(join(pki, 'ca.crt'), join(sa, 'ca.crt'));
  writeFileSync(join(sa, 'namespace'), 'bench');
  let requests = 0;
  const api = createHttpsServer({ key: readFileSync(join(pki, 'server.key')), cert: readFileSync(join(pki, 'server.crt')) }, (req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      requests++;
      res.writeHead(req.method === 'POST' ? 201 : 200, { 'content-type': 'application/json' });
      res.end(req.method === 'POST' ? body : JSON.stringify({ kind: 'Pod', apiVersion: 'v1', metadata: { name: 'bench-pod', namespace: 'bench' }, status: {} }));
    });
  });
  await new Promise((r) => api.listen(0, '127.0.0.1', r));
  const port = api.address().port;
  const script = 'mount -t tmpfs tmpfs /run && mkdir -p /run/secrets/kubernetes.io && cp -r "$0" /run/secrets/kubernetes.io/serviceaccount && exec "$@"';
  const runs = [];
  try {
    for (let i = 0; i < 3; i++) {
      const env = podEnv(emu, {
        NODE_COMPILE_CACHE: CACHE,
        ENTITLEMENT_KUBERNETES_STATUS: 'auto',
        KUBERNETES_SERVICE_HOST: '127.0.0.1',
        KUBERNETES_SERVICE_PORT: String(port),
        POD_NAME: 'bench-pod',
        POD_NAMESPACE: 'bench',
      });
      runs.push(await steadyRun(env, ['unshare', '-m', '--propagation', 'private', 'bash', '-c', script, sa, NODE24, BUNDLE, 'run']));
    }
  } finally {
    api.close();
  }
  if (requests === 0) throw new Error('the sidecar sent nothing to the stand-in API server: Kubernetes status was not on');
  return runs;
}

function startFleetMember(emu, kind, dir, i) {
  const env = baseEnv(emu, { ENTITLEMENT_FILE: join(dir, 'entitlement.json'), AWS_SESSION_TOKEN: `fleet-${i}`, LOG_LEVEL: 'warn', NODE_COMPILE_CACHE: CACHE });
  if (kind === 'bare') return spawn(NODE24, [BARE], { env: baseEnv(emu, { AWS_SESSION_TOKEN: `fleet-${i}` }), stdio: 'ignore' });
  return spawn(NODE24, [BUNDLE, kind], { env, stdio: ['ignore', 'ignore', 'inherit'] });
}

/** Starts n processes at once and resolves with each one's time to its outcome. */
async function burst(emu, n, kind) {
  emu.reset();
  const started = performance.now();
  const startedAt = Date.now();
  const outcomes = await Promise.all(
    Array.from({ length: n }, (_, i) =>
      new Promise((resolve) => {
        const dir = podDir();
        const child = startFleetMember(emu, kind, dir, i);
        if (kind === 'run') {
          // The entitlement file is the sidecar's outcome; poll for it cheaply rather than parse n log streams.
          const file = join(dir, 'entitlement.json');
          const poll = setInterval(() => {
            if (!existsSync(file)) return;
            clearInterval(poll);
            resolve({ ok: true, ms: performance.now() - started, child });
          }, 20);
          child.once('exit', () => {
            clearInterval(poll);
            resolve({ ok: false, ms: performance.now() - started, child });
          });
        } else {
          child.once('exit', (code) => resolve({ ok: code === 0, ms: performance.now() - started, child }));
        }
      }),
    ),
  );
  const calls = emu.calls().filter((c) => c.operation === 'RegisterUsage');
  const times = calls.map((c) => Date.parse(c.time));
  const successes = calls.filter((c) => c.outcome === 'success').map((c) => Date.parse(c.time));
  const quotaSpanMs = successes.length === n ? Math.max(...successes) - Math.min(...times) : NaN;
  for (const o of outcomes) if (o.child.exitCode === null) o.child.kill('SIGTERM');
  await Promise.all(outcomes.map((o) => (o.child.exitCode === null ? new Promise((r) => o.child.once('exit', r)) : undefined)));
  const ok = outcomes.filter((o) => o.ok);
  return {
    allMs: ok.length === n ? Math.max(...ok.map((o) => o.ms)) : NaN,
    quotaSpanMs,
    firstCallMs: Math.min(...times) - startedAt,
    gaveUp: n - ok.length,
    requestsPerProcess: calls.length / n,
  };
}

async function fleetSection(emu) {
  console.log(`\n## 3. Fleet bursts against 5 RegisterUsage/s per account, ${FLEET_RUNS} runs each (medians)\n`);
  const rows = [];
  const summary = {};
  for (const n of FLEET) {
    for (const kind of ['run', 'register', 'bare']) {
      const runs = [];
      for (let r = 0; r < FLEET_RUNS; r++) runs.push(await burst(emu, n, kind));
      const allMs = median(runs.map((r) => r.allMs));
      const spanMs = median(runs.map((r) => r.quotaSpanMs));
      const floor = n / 5;
      const never = 'never (some gave up)';
      rows.push([
        kind === 'bare' ? 'bare SDK script' : `\`${kind}\``,
        n,
        `${floor}`,
        fmt(median(runs.map((r) => r.firstCallMs)) / 1000, 1),
        Number.isNaN(spanMs) ? never : `${fmt(spanMs / 1000, 1)} (x${fmt(spanMs / 1000 / floor, 2)})`,
        Number.isNaN(allMs) ? never : `${fmt(allMs / 1000, 1)} (x${fmt(allMs / 1000 / floor, 2)})`,
        fmt(median(runs.map((r) => r.requestsPerProcess)), 1),
        `${Math.max(...runs.map((r) => r.gaveUp))} of ${n}`,
      ]);
      summary[`${kind}-${n}`] = { ratio: spanMs / 1000 / floor, spawnRatio: allMs / 1000 / floor, gaveUp: Math.max(...runs.map((r) => r.gaveUp)) };
    }
  }
  table(['process', 'N', 'floor N/5 (s)', 'first request after spawn (s)', 'first request to all entitled (s)', 'spawn to all entitled (s)', 'requests per process', 'gave up (worst run)'], rows);
  console.log(
    `\nThe quota floor counts from the first request that reaches the endpoint. Spawn to all entitled adds the time ${cpus().length} cores\n` +
      'need to boot N Node processes at once before any can call; in a cluster, pods boot in parallel on their own nodes.',
  );
  return summary;
}

async function healthzSection(emu) {
  console.log('\n## 4. /healthz under load (autocannon, 10 connections, 10 s)\n');
  const { child, port } = await entitledSidecar(podEnv(emu, { NODE_COMPILE_CACHE: CACHE }));
  const result = await autocannon({ url: `http://127.0.0.1:${port}/healthz`, connections: 10, duration: 10 });
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  const non2xx = result.non2xx + result.errors;
  table(
    ['requests/s (mean)', 'p50 (ms)', 'p99 (ms)', 'max (ms)', 'non-200 or errors'],
    [[fmt(result.requests.average), fmt(result.latency.p50, 2), fmt(result.latency.p99, 2), fmt(result.latency.max, 2), non2xx]],
  );
  return { p99: result.latency.p99, rps: result.requests.average, non2xx };
}

function phasesSection(phases) {
  console.log('\n## 5. Where `run`\'s start-up time goes (the image\'s way, median of its runs, ms from process start)\n');
  const keys = Object.keys(phases[0]);
  table(['phase', 'ms'], keys.map((k) => [k, fmt(median(phases.map((p) => p[k])), 1)]));
}

async function main() {
  const emu = await startEmulator({ region: REGION, productCodes: [PRODUCT], publicKeyOut: keyFile });
  try {
    console.log('# marketplace-entitlement-sidecar benchmark');
    console.log(`bench on node ${process.version}; the sidecar and the bare script on ${execFileSync(NODE24, ['--version'], { encoding: 'utf8' }).trim()}; ${cpus().length} cores; emulator ${emu.url}`);
    // The quota is the subject of section 3 only: let every call through elsewhere.
    emu.setScenario({ rateLimit: null });
    const startup = await startupSection(emu);
    const memory = await memorySection(emu);
    emu.setScenario({ rateLimit: { perSecond: 5, burst: 5 } });
    const fleet = await fleetSection(emu);
    emu.setScenario({ rateLimit: null });
    const healthz = await healthzSection(emu);
    phasesSection(startup.run.phases);

    console.log('\n## Goals\n');
    const x = (r) => `x${fmt(r, 2)}`;
    const goals = [
      ['`run`: time to entitled <= 1.0x the bare SDK script', startup.run.ratio <= GOAL.startRatio, `${fmt(startup.run.ms)} ms vs ${fmt(startup.bare.ms)} ms (${x(startup.run.ratio)})`],
      ['`register`: time to entitled and exited <= 1.0x the bare SDK script', startup.register.ratio <= GOAL.startRatio, `${fmt(startup.register.ms)} ms vs ${fmt(startup.bare.ms)} ms (${x(startup.register.ratio)})`],
      ['`run`: peak RSS <= 60 MiB entitled, outside a cluster', memory.outside.atEntitled <= GOAL.peakMiB, `${fmt(memory.outside.atEntitled, 1)} MiB, steady ${fmt(memory.outside.anon, 1)} of its own + ${fmt(memory.outside.file, 1)} file-backed (the bare script: ${fmt(startup.bare.peakMiB, 1)} MiB)`],
      ['`register`: peak RSS <= 60 MiB', startup.register.peakMiB <= GOAL.peakMiB, `${fmt(startup.register.peakMiB, 1)} MiB (worst run)`],
      ...FLEET.flatMap((n) =>
        ['run', 'register'].map((kind) => {
          const f = fleet[`${kind}-${n}`];
          return [`\`${kind}\`: ${n} at once, all entitled within 1.2x the quota floor from the first request, none giving up`, f.ratio <= GOAL.fleetRatio && f.gaveUp === 0, `${x(f.ratio)} (${x(f.spawnRatio)} from spawn), ${f.gaveUp} gave up`];
        }),
      ),
      ['/healthz p99 under 5 ms', healthz.p99 < GOAL.healthzP99Ms && healthz.non2xx === 0, `${fmt(healthz.p99, 2)} ms at ${fmt(healthz.rps)} requests/s`],
    ];
    table(['goal', 'met', 'measured'], goals.map(([g, ok, m]) => [g, ok ? 'yes' : 'MISSED', m]));
    console.log(
      `\nCPU per start (a node starting many pods at once pays this): \`run\` ${fmt(startup.run.cpuSeconds, 3)} s, \`register\` ${fmt(startup.register.cpuSeconds, 3)} s, the bare script ${fmt(startup.bare.cpuSeconds, 3)} s.`,
    );
    for (const v of Object.values(startup)) delete v.phases;
    writeFileSync(join(root, 'bench', 'last-run.json'), `${JSON.stringify({ node: execFileSync(NODE24, ['--version'], { encoding: 'utf8' }).trim(), cores: cpus().length, startup, memory, fleet, healthz }, null, 2)}\n`);
  } finally {
    await emu.close();
    // The cache is made read-only, as in the image: give the owner write access back to remove it.
    const writable = (p) => {
      chmodSync(p, statSync(p).isDirectory() ? 0o755 : 0o644);
      if (statSync(p).isDirectory()) for (const e of readdirSync(p)) writable(join(p, e));
    };
    if (existsSync(CACHE)) writable(CACHE);
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
