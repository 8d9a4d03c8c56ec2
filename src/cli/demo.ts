/**
 * `npm run demo`: the whole story against the embedded emulator, for a newcomer. Two "pods" share one
 * emulated AWS account: the first is entitled, the second belongs to a customer who is not subscribed,
 * and its restarted sidecar shows that a denial cannot be shaken off by restarting a container. Then a
 * contract-priced product: a pod reads its tier from the file, the buyer upgrades, and the pod sees the
 * new tier at its next check without a restart.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_EMULATOR_CREDENTIALS, startEmulator, type Emulator } from '../emulator/index.js';

const CLI = fileURLToPath(new URL('./main.js', import.meta.url));
const PRODUCT = 'prod-demo1234567890abcdef';
/** The contract product's ID (SKU), as the Marketplace Management Portal shows it. */
const CONTRACT_SKU = '3f6c1a2e-8b4d-4c7e-9a1f-5d2b6e8c0a13';
const REGION = 'us-east-1';
const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const say = (s = '') => process.stdout.write(`${s}\n`);
const heading = (s: string) => say(`\n${bold(`== ${s}`)}`);

interface Pod {
  readonly name: string;
  readonly dir: string;
  readonly port: number;
  readonly child: ChildProcess;
  readonly logs: string[];
}

/** An hourly product's pod: its product code and public key. */
const hourly = (dir: string) => ({ MARKETPLACE_PRODUCT_CODE: PRODUCT, MARKETPLACE_PUBLIC_KEY_FILE: join(dir, '..', 'product-public-key.pem') });

async function startPod(emu: Emulator, name: string, dir: string, sessionToken: string, product: Record<string, string> = hourly(dir)): Promise<Pod> {
  const cred = DEFAULT_EMULATOR_CREDENTIALS[0] as (typeof DEFAULT_EMULATOR_CREDENTIALS)[number];
  const child = spawn(process.execPath, [CLI, 'run'], {
    env: {
      PATH: process.env.PATH,
      HOME: dir,
      ...product,
      ENTITLEMENT_FILE: join(dir, 'entitlement.json'),
      ENTITLEMENT_LISTEN: '127.0.0.1:0',
      AWS_REGION: REGION,
      AWS_ENDPOINT_URL_MARKETPLACE_METERING: emu.url,
      AWS_ENDPOINT_URL_LICENSE_MANAGER: emu.url,
      AWS_ACCESS_KEY_ID: cred.accessKeyId,
      AWS_SECRET_ACCESS_KEY: cred.secretAccessKey,
      // A distinct session per pod: the emulator, like AWS, denies only a pod's first call.
      AWS_SESSION_TOKEN: sessionToken,
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_CONFIG_FILE: '/dev/null',
      AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const logs: string[] = [];
  let buffered = '';
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`sidecar ${name} exited with ${code}`)));
    child.stdout?.on('data', (c: Buffer) => {
      buffered += c.toString();
      let nl: number;
      while ((nl = buffered.indexOf('\n')) !== -1) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        logs.push(line);
        const parsed = JSON.parse(line) as { msg?: string; listen?: string };
        if (parsed.msg === 'entitlement sidecar starting') resolve(Number(String(parsed.listen).split(':').pop()));
      }
    });
  });
  return { name, dir, port, child, logs };
}

async function healthz(pod: Pod): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`http://127.0.0.1:${pod.port}/healthz`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Polls /healthz until it leaves `pending`, at most 30 s. */
async function decided(pod: Pod): Promise<{ status: number; body: Record<string, unknown> }> {
  const until = Date.now() + 30_000;
  for (;;) {
    const h = await healthz(pod);
    if (h.body.status !== 'pending') return h;
    if (Date.now() > until) throw new Error(`sidecar ${pod.name} still pending after 30 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function stop(pod: Pod): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => pod.child.once('exit', (code) => resolve(code)));
  pod.child.kill('SIGTERM');
  return exited;
}

function outcomeLog(pod: Pod): string {
  const line = pod.logs.find((l) => /"msg":"(entitled|not entitled[^"]*)"/.test(l)) ?? '';
  const o = JSON.parse(line || '{}') as Record<string, unknown>;
  return JSON.stringify({ level: o.level, msg: o.msg, code: o.code, action: o.action });
}

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'entitlement-demo-'));
  const emu = await startEmulator({ region: REGION, keyBits: 3072, productCodes: [PRODUCT], publicKeyOut: join(root, 'product-public-key.pem') });
  const pods: Pod[] = [];
  try {
    heading('1. A local AWS Marketplace Metering endpoint (the emulator)');
    say(`listening on ${emu.url}, region ${REGION}, SigV4 checked, 5 requests/s per account like AWS`);
    say(`product ${PRODUCT}; its public key (3072-bit RSA, made at start) is in ${join(root, 'product-public-key.pem')}`);

    heading('2. Pod A starts: the sidecar calls RegisterUsage and verifies the PS256 token');
    const dirA = join(root, 'pod-a');
    mkdirs(dirA);
    const a = await startPod(emu, 'A', dirA, 'pod-a-session');
    pods.push(a);
    const ha = await decided(a);
    say(`GET /healthz -> ${ha.status}`);
    say(JSON.stringify(ha.body, null, 2));
    say(`\nentitlement file ${join(dirA, 'entitlement.json')} (what the paid app reads):`);
    const record = JSON.parse(readFileSync(join(dirA, 'entitlement.json'), 'utf8')) as Record<string, unknown>;
    say(JSON.stringify({ ...record, signature: `${String(record.signature).slice(0, 48)}... (the raw JWT, for the app to re-verify)` }, null, 2));
    say(`\nthe outcome log line: ${outcomeLog(a)}`);
    const metrics = await (await fetch(`http://127.0.0.1:${a.port}/metrics`)).text();
    say('\nGET /metrics (excerpt):');
    for (const l of metrics.split('\n')) if (l.startsWith('marketplace_entitlement_') && !l.includes('_bucket') && !l.endsWith(' 0')) say(`  ${l}`);
    const verify = await runVerify(join(dirA, 'entitlement.json'), join(root, 'product-public-key.pem'));
    say(`\nentitlement-sidecar verify (the app's own check of the signed token) -> exit ${verify.code}: ${verify.out}`);

    heading('3. Pod B belongs to a customer who is not subscribed');
    emu.setScenario({ mode: 'not-entitled' });
    const dirB = join(root, 'pod-b');
    mkdirs(dirB);
    const b = await startPod(emu, 'B', dirB, 'pod-b-session');
    pods.push(b);
    const hb = await decided(b);
    say(`GET /healthz -> ${hb.status} (the app container never starts)`);
    say(JSON.stringify(hb.body, null, 2));
    say(`\nthe outcome log line: ${outcomeLog(b)}`);

    heading("4. Pod B's sidecar container restarts: AWS would not deny a second call, the sidecar remembers");
    const callsBefore = emu.state().totalCalls;
    say(`exit code on SIGTERM: ${await stop(b)}`);
    pods.splice(pods.indexOf(b), 1);
    const b2 = await startPod(emu, 'B (restarted)', dirB, 'pod-b-session');
    pods.push(b2);
    const hb2 = await decided(b2);
    say(`GET /healthz -> ${hb2.status}: ${hb2.body.code}, sticky=${String(hb2.body.sticky)}`);
    say(`RegisterUsage calls made by the restarted sidecar: ${emu.state().totalCalls - callsBefore}`);

    heading('5. A contract-priced product: the pod learns its tier from AWS License Manager');
    const buyer = (DEFAULT_EMULATOR_CREDENTIALS[0] as (typeof DEFAULT_EMULATOR_CREDENTIALS)[number]).accountId;
    const license = emu.putLicense({ beneficiaryAccountId: buyer, productSku: CONTRACT_SKU, productName: 'Demo contract product', entitlements: [{ name: 'BasicTier', unit: 'None' }] });
    say(`the buyer's account ${buyer} holds license ${license.licenseArn}: BasicTier`);
    const dirC = join(root, 'pod-c');
    mkdirs(dirC);
    const c = await startPod(emu, 'C', dirC, 'pod-c-session', {
      ENTITLEMENT_SOURCE: 'license-manager',
      MARKETPLACE_PRODUCT_SKU: CONTRACT_SKU,
      MARKETPLACE_LICENSE_ENTITLEMENTS: 'BasicTier:None,PremiumTier:None',
      // A demo setting: checks every 2 s instead of every 15 minutes.
      ENTITLEMENT_LICENSE_CHECK_INTERVAL: '2s',
    });
    pods.push(c);
    const hc = await decided(c);
    say(`GET /healthz -> ${hc.status}`);
    say(JSON.stringify(hc.body, null, 2));
    say(`
the tier the app reads from ${join(dirC, 'entitlement.json')}: ${tiersIn(join(dirC, 'entitlement.json'))}`);

    heading('6. The buyer upgrades to PremiumTier: the pod sees it at its next check, no restart');
    emu.putLicense({ licenseArn: license.licenseArn, beneficiaryAccountId: buyer, productSku: CONTRACT_SKU, productName: 'Demo contract product', entitlements: [{ name: 'PremiumTier', unit: 'None' }] });
    say(`license ${license.licenseArn} is now version ${emu.licenses().find((l) => l.licenseArn === license.licenseArn)?.version}: PremiumTier`);
    await until(() => tiersIn(join(dirC, 'entitlement.json')) === 'PremiumTier', 'the upgrade in the entitlement file');
    say(`the tier the app reads now: ${tiersIn(join(dirC, 'entitlement.json'))}`);
    say(`
exit code on SIGTERM: ${await stop(c)}`);
    pods.splice(pods.indexOf(c), 1);
    const held = emu.consumptions().filter((x) => x.licenseArn === license.licenseArn && x.active).length;
    say(`seats still held after the pod stopped: ${held} (checked in at SIGTERM, not left to expire)`);

    heading('Done');
    say('Next: `npm test` runs the test suite; the README has the configuration, endpoints, metrics and deployment.');
  } finally {
    await Promise.all(pods.map(stop));
    await emu.close();
    rmSync(root, { recursive: true, force: true });
  }
}

/** The tiers an entitlement file names, as the app would read them. */
function tiersIn(file: string): string {
  const record = JSON.parse(readFileSync(file, 'utf8')) as { entitlements?: { name: string }[] };
  return (record.entitlements ?? []).map((e) => e.name).join(', ');
}

/** Waits for `done`, at most 30 s (a demo: the next check comes within seconds). */
async function until(done: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`no ${what} after 30 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function mkdirs(dir: string): void {
  mkdirSync(dir, { recursive: true });
}

async function runVerify(file: string, keyFile: string): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, [CLI, 'verify', '--entitlement-file', file, '--public-key-file', keyFile, '--product-code', PRODUCT], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { code, out: out.trim() };
}

main().catch((err: unknown) => {
  process.stderr.write(`demo failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
