#!/usr/bin/env node
// npm run bench: the figures behind the README's performance goals, measured here against the emulator.
//   1. time from process start to entitled, and peak memory: the sidecar (bundle, as in the image, and
//      unbundled) next to a bare SDK script and Debian's AWS CLI, as ratios from the same run;
//   2. fleet bursts of N sidecars against the emulator's 5 requests/second per account, next to the
//      bare SDK script with the SDK's default retries;
//   3. /healthz under load from autocannon;
//   4. where start-up time goes, from the sidecar's own `startupMs` log field.
// Options: --runs N (default 7), --fleet 50,100 (default), --fleet-runs N (default 3).
// All traffic stays on 127.0.0.1.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { DEFAULT_EMULATOR_CREDENTIALS, startEmulator } from '../dist/emulator/index.js';
import { table } from './table.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const BUNDLE = join(root, 'dist/bundle/entitlement-sidecar.mjs');
const UNBUNDLED = join(root, 'dist/cli/main.js');
const BARE = join(root, 'bench/bare-register.mjs');
const MEASURE = join(root, 'bench/measure.py');
const AWS_CLI = process.env.AWS_CLI ?? '/usr/bin/aws';
const PRODUCT = 'prod-bench000000000000000';
const REGION = 'us-east-1';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : process.argv[i + 1];
};
const RUNS = Number(arg('runs', '7'));
const FLEET = arg('fleet', '50,100').split(',').map(Number);
const FLEET_RUNS = Number(arg('fleet-runs', '3'));

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmt = (n, d = 0) => (n === undefined || Number.isNaN(n) ? 'n/a' : n.toFixed(d));

const work = mkdtempSync(join(tmpdir(), 'entitlement-bench-'));
const keyFile = join(work, 'product.pem');
const cred = DEFAULT_EMULATOR_CREDENTIALS[0];

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
    ...extra,
  };
}

function measure(command, env, untilLine) {
  return new Promise((resolve, reject) => {
    const args = [MEASURE, ...(untilLine === undefined ? [] : ['--until-line', untilLine]), ...command];
    const child = spawn('/usr/bin/python3', args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
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

async function startupSection(emu) {
  console.log(`\n## 1. Start to entitled, ${RUNS} runs each (median)\n`);
  const variants = [
    { name: 'sidecar (bundle, as in the image)', cmd: () => [process.execPath, BUNDLE, 'run'], until: '"msg":"entitled"', sidecar: true },
    { name: 'sidecar (unbundled dist/)', cmd: () => [process.execPath, UNBUNDLED, 'run'], until: '"msg":"entitled"', sidecar: true },
    { name: 'bare SDK script (no verification)', cmd: () => [process.execPath, BARE] },
    {
      name: "Debian's AWS CLI v2",
      cmd: () => [AWS_CLI, 'meteringmarketplace', 'register-usage', '--endpoint-url', emu.url, '--region', REGION, '--product-code', PRODUCT, '--public-key-version', '1', '--nonce', `n${Date.now()}`],
    },
  ];
  const results = new Map();
  // Interleave the variants so drift in machine load touches them alike.
  for (let run = 0; run < RUNS; run++) {
    for (const v of variants) {
      const env = baseEnv(emu, v.sidecar ? { ENTITLEMENT_FILE: join(podDir(), 'entitlement.json') } : {});
      const r = await measure(v.cmd(), env, v.until);
      if (r.elapsedMs === null || r.exitCode !== 0) throw new Error(`${v.name} did not succeed: ${JSON.stringify(r).slice(0, 2000)}`);
      const list = results.get(v.name) ?? [];
      list.push(r);
      results.set(v.name, list);
    }
  }
  const bare = median(results.get(variants[2].name).map((r) => r.elapsedMs));
  table(
    ['variant', 'start to entitled (ms)', 'ratio to bare SDK', 'peak RSS (MiB)'],
    variants.map((v) => {
      const rs = results.get(v.name);
      const t = median(rs.map((r) => r.elapsedMs));
      return [v.name, fmt(t), fmt(t / bare, 2), fmt(median(rs.map((r) => r.maxRssKiB)) / 1024, 1)];
    }),
  );
  const bundle = results.get(variants[0].name);
  return {
    bundleMs: median(bundle.map((r) => r.elapsedMs)),
    bareMs: bare,
    bundleRssMiB: Math.max(...bundle.map((r) => r.maxRssKiB)) / 1024,
    phases: bundle.map((r) => JSON.parse(r.matched).startupMs),
  };
}

function startSidecar(emu, dir, sessionToken) {
  const child = spawn(process.execPath, [BUNDLE, 'run'], {
    env: baseEnv(emu, { ENTITLEMENT_FILE: join(dir, 'entitlement.json'), AWS_SESSION_TOKEN: sessionToken, LOG_LEVEL: 'warn' }),
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return child;
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
        if (kind === 'sidecar') {
          const child = startSidecar(emu, dir, `fleet-${i}`);
          // The entitlement file is the sidecar's outcome; poll for it cheaply rather than parse n log streams.
          const file = join(dir, 'entitlement.json');
          const poll = setInterval(() => {
            try {
              statSync(file);
              clearInterval(poll);
              resolve({ ok: true, ms: performance.now() - started, child });
            } catch {
              /* not yet */
            }
          }, 20);
          child.once('exit', () => {
            clearInterval(poll);
            resolve({ ok: false, ms: performance.now() - started, child });
          });
        } else {
          const child = spawn(process.execPath, [BARE], { env: baseEnv(emu, { AWS_SESSION_TOKEN: `fleet-${i}` }), stdio: 'ignore' });
          child.once('exit', (code) => resolve({ ok: code === 0, ms: performance.now() - started, child }));
        }
      }),
    ),
  );
  const requests = emu.state().counts.RegisterUsage;
  const total = Object.values(requests ?? {}).reduce((a, b) => a + b, 0);
  // The quota-bound span: from the first request that reached the endpoint to the last success.
  const calls = emu.calls().filter((c) => c.operation === 'RegisterUsage');
  const times = calls.map((c) => Date.parse(c.time));
  const successes = calls.filter((c) => c.outcome === 'success').map((c) => Date.parse(c.time));
  const quotaSpanMs = successes.length === n ? Math.max(...successes) - Math.min(...times) : NaN;
  const firstCallMs = Math.min(...times) - startedAt;
  for (const o of outcomes) if (o.child.exitCode === null) o.child.kill('SIGTERM');
  await Promise.all(outcomes.map((o) => (o.child.exitCode === null ? new Promise((r) => o.child.once('exit', r)) : undefined)));
  const ok = outcomes.filter((o) => o.ok);
  return {
    allMs: ok.length === n ? Math.max(...ok.map((o) => o.ms)) : NaN,
    quotaSpanMs,
    firstCallMs,
    gaveUp: n - ok.length,
    requestsPerProcess: total / n,
  };
}

async function fleetSection(emu) {
  console.log(`\n## 2. Fleet bursts against 5 requests/second per account, ${FLEET_RUNS} runs each (median)\n`);
  const rows = [];
  const summary = {};
  for (const n of FLEET) {
    for (const kind of ['sidecar', 'bare SDK']) {
      const runs = [];
      for (let r = 0; r < FLEET_RUNS; r++) runs.push(await burst(emu, n, kind === 'sidecar' ? 'sidecar' : 'bare'));
      const allMs = median(runs.map((r) => r.allMs));
      const spanMs = median(runs.map((r) => r.quotaSpanMs));
      const floor = n / 5;
      const never = 'never (some gave up)';
      rows.push([
        kind,
        n,
        `${floor}`,
        fmt(median(runs.map((r) => r.firstCallMs)) / 1000, 1),
        Number.isNaN(spanMs) ? never : `${fmt(spanMs / 1000, 1)} (x${fmt(spanMs / 1000 / floor, 2)})`,
        Number.isNaN(allMs) ? never : `${fmt(allMs / 1000, 1)} (x${fmt(allMs / 1000 / floor, 2)})`,
        fmt(median(runs.map((r) => r.requestsPerProcess)), 1),
        `${median(runs.map((r) => r.gaveUp))} of ${n}`,
      ]);
      if (kind === 'sidecar') {
        summary[n] = { ratio: spanMs / 1000 / floor, spawnRatio: allMs / 1000 / floor, gaveUp: Math.max(...runs.map((r) => r.gaveUp)) };
      }
    }
  }
  table(
    ['process', 'N', 'floor N/5 (s)', 'first call after spawn (s)', 'first call to all entitled (s)', 'spawn to all entitled (s)', 'requests per process', 'gave up'],
    rows,
  );
  console.log(
    `\nThe quota floor counts from the first request that reaches the endpoint. Spawn to all entitled adds the time ${cpus().length} cores\n` +
      'need to boot N Node processes at once before any can call; in a cluster, pods boot in parallel on their own nodes.',
  );
  return summary;
}

async function healthzSection(emu) {
  console.log('\n## 3. /healthz under load (autocannon, 10 connections, 10 s)\n');
  const dir = podDir();
  const child = spawn(process.execPath, [BUNDLE, 'run'], { env: baseEnv(emu, { ENTITLEMENT_FILE: join(dir, 'entitlement.json') }), stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (c) => {
      buf += c;
      const m = /"msg":"entitled"/.test(buf) && /"listen":"[^"]*:(\d+)"/.exec(buf);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', () => reject(new Error('sidecar exited')));
  });
  child.stdout.resume();
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
  console.log('\n## 4. Where start-up time goes (sidecar bundle, median of its runs, ms from process start)\n');
  const keys = Object.keys(phases[0]);
  table(['phase', 'ms'], keys.map((k) => [k, fmt(median(phases.map((p) => p[k])), 1)]));
}

async function main() {
  const emu = await startEmulator({ region: REGION, productCodes: [PRODUCT], publicKeyOut: keyFile });
  try {
    console.log(`# marketplace-entitlement-sidecar benchmark`);
    console.log(`node ${process.version}, ${cpus().length} cores, emulator ${emu.url} (5 requests/s per account, burst 5)`);
    // The quota is not the subject of section 1 and 3: let every call through there.
    emu.setScenario({ rateLimit: null });
    const startup = await startupSection(emu);
    emu.setScenario({ rateLimit: { perSecond: 5, burst: 5 } });
    const fleet = await fleetSection(emu);
    emu.setScenario({ rateLimit: null });
    const healthz = await healthzSection(emu);
    phasesSection(startup.phases);

    console.log('\n## Goals\n');
    const goals = [
      ['time to entitled no slower than the bare SDK script', startup.bundleMs <= startup.bareMs, `${fmt(startup.bundleMs)} ms vs ${fmt(startup.bareMs)} ms (x${fmt(startup.bundleMs / startup.bareMs, 2)})`],
      ['peak memory under 60 MiB', startup.bundleRssMiB < 60, `${fmt(startup.bundleRssMiB, 1)} MiB (worst run)`],
      ...Object.entries(fleet).map(([n, f]) => [
        `${n}-sidecar burst all entitled within 1.3x the quota floor, none giving up`,
        f.ratio <= 1.3 && f.gaveUp === 0,
        `x${fmt(f.ratio, 2)} from the first call (x${fmt(f.spawnRatio, 2)} from spawn), ${f.gaveUp} gave up`,
      ]),
      ['/healthz p99 under 5 ms', healthz.p99 < 5 && healthz.non2xx === 0, `${fmt(healthz.p99, 2)} ms at ${fmt(healthz.rps)} requests/s`],
    ];
    table(['goal', 'met', 'measured'], goals.map(([g, ok, m]) => [g, ok ? 'yes' : 'MISSED', m]));
    writeFileSync(join(root, 'bench', 'last-run.json'), `${JSON.stringify({ node: process.version, startup: { ...startup, phases: undefined }, fleet, healthz }, null, 2)}\n`);
  } finally {
    await emu.close();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
