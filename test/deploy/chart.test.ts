/**
 * The Helm charts, checked by the real helm 3.6.2 (lint --strict, template, values.schema.json) and
 * every rendered object validated against the Kubernetes schemas (kubernetes-models) plus an
 * unknown-field check. No API server exists here or in CI: admission, scheduling and the kubelet's
 * behaviour need a real cluster (see the README, "What was checked here").
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSidecarConfig, PRODUCT_CODE_PATTERN, SETTINGS } from '../../src/config/settings.js';
import { PRODUCT_SKU_PATTERN } from '../../src/config/values.js';
import { initModeRefusal } from '../../src/sidecar/register.js';
import { DEFAULT_JOURNAL_MAX_BYTES, ENTITLEMENT_ROOM_BYTES, journalMaxBytesFor, MIB } from '../../src/usage/volume.js';
import { REPO_ROOT, run } from './exec.js';
import { chartWorkspace, CHARTS_DIR, type ChartWorkspace } from './helm.js';
import { validateObject, validateServiceMonitor, type K8sObject } from './k8s-validate.js';
import { readDockerfile } from './podman.js';

const CI_DIR = join(CHARTS_DIR, 'paid-app-example', 'ci');
const CI_FILES = readdirSync(CI_DIR).filter((f) => f.endsWith('-values.yaml')).sort();
const ci = (name: string) => join(CI_DIR, name);
const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
const settingDefault = (env: string) => SETTINGS.find((s) => s.env === env)?.default;

interface Probe { httpGet: { path: string; port: number }; periodSeconds: number; failureThreshold: number; timeoutSeconds: number }
interface EnvVar { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }
interface Container {
  name: string;
  image: string;
  restartPolicy?: string;
  args?: string[];
  env?: EnvVar[];
  ports?: { name: string; containerPort: number }[];
  startupProbe?: Probe;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  securityContext?: Record<string, unknown>;
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
  resources?: { limits?: Record<string, string>; requests?: Record<string, string> };
  terminationMessagePolicy?: string;
}
interface PodSpec {
  serviceAccountName?: string;
  securityContext?: Record<string, unknown>;
  initContainers?: Container[];
  containers: Container[];
  volumes: { name: string; emptyDir?: Record<string, unknown>; configMap?: { name: string }; secret?: { secretName: string } }[];
}

let ws: ChartWorkspace;
beforeAll(async () => {
  ws = await chartWorkspace();
}, 60_000);
afterAll(() => ws?.dispose());

const render = (file: string, extra: readonly string[] = []) => ws.template(['-f', ci(file), ...extra]);
const byKind = (objs: K8sObject[], kind: string) => objs.filter((o) => o.kind === kind);
function deploymentOf(objs: K8sObject[]): { pod: PodSpec; annotations: Record<string, string>; labels: Record<string, string> } {
  const [dep] = byKind(objs, 'Deployment');
  const tpl = (dep as unknown as { spec: { template: { metadata: { annotations?: Record<string, string>; labels: Record<string, string> }; spec: PodSpec } } }).spec.template;
  return { pod: tpl.spec, annotations: tpl.metadata.annotations ?? {}, labels: tpl.metadata.labels };
}
function sidecarOf(pod: PodSpec): Container {
  const c = [...(pod.initContainers ?? []), ...pod.containers].find((x) => x.name === 'entitlement-sidecar');
  if (c === undefined) throw new Error('no entitlement-sidecar container');
  return c;
}
const envOf = (c: Container) => new Map((c.env ?? []).map((e) => [e.name, e]));
const envValue = (c: Container, name: string) => envOf(c).get(name)?.value;
/** The port of ENTITLEMENT_LISTEN ("0.0.0.0:9797", "[::]:9898"). */
const listenPort = (c: Container) => Number(/:(\d+)$/.exec(envValue(c, 'ENTITLEMENT_LISTEN') ?? '')?.[1]);
const durationSeconds = (d: string) =>
  [...d.matchAll(/(\d+)([hms])/g)].reduce((s, m) => s + Number(m[1]) * ({ h: 3600, m: 60, s: 1 } as const)[m[2] as 'h' | 'm' | 's'], 0);

describe('helm lint --strict', () => {
  it('passes for the library chart', async () => {
    const r = await ws.helm(['lint', '--strict', 'charts/entitlement-sidecar']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
  });

  it.each(CI_FILES)('passes for the example chart with ci/%s', async (file) => {
    const r = await ws.helm(['lint', '--strict', 'charts/paid-app-example', '-f', ci(file)]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
  });
});

describe('helm template of every ci/*-values.yaml', () => {
  it('covers the shapes the chart supports', () => {
    expect(CI_FILES).toEqual([
      'baked-image-values.yaml',
      'classic-values.yaml',
      'eks-anywhere-values.yaml',
      'existing-serviceaccount-values.yaml',
      'init-values.yaml',
      'kubernetes-anywhere-values.yaml',
      'license-manager-values.yaml',
      'metrics-values.yaml',
      'native-values.yaml',
      'usage-values.yaml',
    ]);
  });

  it('renders a contract product: License Manager settings, no product code or token key, the IRSA role', async () => {
    const { pod } = deploymentOf(await render('license-manager-values.yaml'));
    const side = sidecarOf(pod);
    expect(envValue(side, 'ENTITLEMENT_SOURCE')).toBe('license-manager');
    expect(envValue(side, 'MARKETPLACE_PRODUCT_SKU')).toBe('6b4f0d5e-1c2a-4e8f-9d3b-7a6c5e4d3b2a');
    expect(envValue(side, 'MARKETPLACE_LICENSE_ENTITLEMENTS')).toBe('BasicTier:None,PremiumTier:None');
    expect(envValue(side, 'MARKETPLACE_LICENSE_CHECKOUT_TYPE')).toBe('PROVISIONAL');
    expect(envValue(side, 'ENTITLEMENT_LICENSE_CHECK_INTERVAL')).toBe(settingDefault('ENTITLEMENT_LICENSE_CHECK_INTERVAL'));
    expect(envValue(side, 'ENTITLEMENT_LICENSE_GRACE')).toBe(settingDefault('ENTITLEMENT_LICENSE_GRACE'));
    for (const name of ['MARKETPLACE_PRODUCT_CODE', 'MARKETPLACE_PUBLIC_KEY_FILE', 'MARKETPLACE_PUBLIC_KEY_VERSION', 'MARKETPLACE_LICENSE_PUBLIC_KEY_FILE']) {
      expect(envOf(side).has(name), name).toBe(false);
    }
    // The sidecar's own parser accepts what the chart renders.
    const settings = Object.fromEntries((side.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value as string]));
    const dir = mkdtempSync(join(tmpdir(), 'chart-lm-'));
    try {
      const config = loadSidecarConfig([], { ...settings, ENTITLEMENT_FILE: join(dir, 'entitlement.json') });
      expect(config.source).toMatchObject({ kind: 'license-manager', entitlements: [{ name: 'BasicTier', unit: 'None' }, { name: 'PremiumTier', unit: 'None' }] });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each([
    ['eks-anywhere-values.yaml', 'aws-marketplace-license-config', 'us-east-1', true],
    ['kubernetes-anywhere-values.yaml', 'paid-app-license', 'eu-central-1', false],
  ] as const)('outside AWS (%s): the buyer\'s license Secret in the sidecar only, no IRSA role, a region', async (file, secretName, region, native) => {
    const objs = await render(file);
    const { pod } = deploymentOf(objs);
    const side = sidecarOf(pod);
    expect(pod.initContainers?.some((c) => c.name === side.name) ?? false).toBe(native);
    const volume = (pod.volumes ?? []).find((v) => v.secret?.secretName === secretName);
    expect(volume?.secret).toEqual({ secretName, defaultMode: 0o440, items: [{ key: 'license_token', path: 'license_token' }, { key: 'iam_role', path: 'iam_role' }] });
    const mount = (side.volumeMounts ?? []).find((m) => m.name === volume?.name);
    expect(mount).toEqual({ name: volume?.name, mountPath: settingDefault('ENTITLEMENT_LICENSE_TOKEN_DIR'), readOnly: true });
    expect(envValue(side, 'ENTITLEMENT_LICENSE_TOKEN_DIR')).toBe(mount?.mountPath);
    expect(envValue(side, 'AWS_REGION')).toBe(region);
    // Never in the app: its containers mount the entitlement volume and nothing of the Secret.
    for (const c of [...pod.containers, ...(pod.initContainers ?? [])].filter((c) => c.name !== side.name)) {
      expect((c.volumeMounts ?? []).map((m) => m.name)).not.toContain(volume?.name);
    }
    // No IRSA annotation, and none needed.
    const [sa] = byKind(objs, 'ServiceAccount') as K8sObject[];
    expect(sa?.metadata.annotations?.['eks.amazonaws.com/role-arn']).toBeUndefined();
    // The sidecar's own parser accepts what the chart renders.
    const settings = Object.fromEntries((side.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value as string]));
    const dir = mkdtempSync(join(tmpdir(), 'chart-anywhere-'));
    try {
      expect(loadSidecarConfig([], { ...settings, ENTITLEMENT_FILE: join(dir, 'entitlement.json') }).source).toMatchObject({ kind: 'license-manager', licenseTokenDir: mount?.mountPath });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('mounts a license issuer key at MARKETPLACE_LICENSE_PUBLIC_KEY_FILE when one is given', async () => {
    const { pod } = deploymentOf(await render('license-manager-values.yaml', ['--set', 'entitlement-sidecar.license.publicKey.secretName=issuer-key']));
    const side = sidecarOf(pod);
    expect(envValue(side, 'MARKETPLACE_LICENSE_PUBLIC_KEY_FILE')).toBe('/etc/marketplace-license/license-public-key.pem');
    const mount = (side.volumeMounts ?? []).find((m) => m.mountPath === '/etc/marketplace-license');
    expect(mount?.readOnly).toBe(true);
    const volume = (pod.volumes ?? []).find((v) => v.name === mount?.name);
    expect(volume?.secret?.secretName).toBe('issuer-key');
  });

  it('wires usage metering only when dimensions are set: the sidecar on loopback, the app told where', async () => {
    const { pod } = deploymentOf(await render('usage-values.yaml'));
    const side = sidecarOf(pod);
    expect(envValue(side, 'MARKETPLACE_USAGE_DIMENSIONS')).toBe('gb_scanned,requests');
    expect(envValue(side, 'ENTITLEMENT_USAGE_LISTEN')).toBe('127.0.0.1:9798');
    const app = pod.containers.find((c) => c.name === 'app') as Container;
    expect(envValue(app, 'ENTITLEMENT_USAGE_URL')).toBe('http://127.0.0.1:9798/v1/usage');
    const plain = deploymentOf(await render('native-values.yaml')).pod;
    expect(envOf(sidecarOf(plain)).has('MARKETPLACE_USAGE_DIMENSIONS')).toBe(false);
    expect(envOf(plain.containers.find((c) => c.name === 'app') as Container).has('ENTITLEMENT_USAGE_URL')).toBe(false);
  });

  it('renders usage metering on node disk with the default sizeLimit, and on a smaller memory-backed volume (the journal shrinks with a tmpfs)', async () => {
    const onDisk = deploymentOf(await render('usage-values.yaml', ['--set', 'entitlement-sidecar.entitlementVolume.medium='])).pod;
    expect(onDisk.volumes.find((v) => v.name === 'marketplace-entitlement')?.emptyDir).toEqual({ sizeLimit: '10Mi' });
    const small = deploymentOf(await render('usage-values.yaml', ['--set', 'entitlement-sidecar.entitlementVolume.sizeLimit=2Mi'])).pod;
    expect(small.volumes.find((v) => v.name === 'marketplace-entitlement')?.emptyDir).toEqual({ medium: 'Memory', sizeLimit: '2Mi' });
  });

  it.each(CI_FILES)('renders objects that pass the Kubernetes schemas with no unknown fields: %s', async (file) => {
    const objs = await render(file);
    expect(byKind(objs, 'Deployment')).toHaveLength(1);
    const problems: string[] = [];
    for (const obj of objs) {
      problems.push(...(obj.kind === 'ServiceMonitor' ? validateServiceMonitor(obj) : await validateObject(obj)));
    }
    expect(problems).toEqual([]);
  });

  it('catches a misspelled or misplaced field (the unknown-field check can fail)', async () => {
    const [dep] = byKind(await render('native-values.yaml'), 'Deployment');
    const broken = structuredClone(dep) as K8sObject & { spec: { template: { spec: PodSpec } } };
    const side = broken.spec.template.spec.initContainers?.[0] as Container & Record<string, unknown>;
    (side.securityContext as Record<string, unknown>).readOnlyRootFileSystem = true;
    side.startupProbe = { ...(side.startupProbe as Probe), path: '/healthz' } as Probe;
    const problems = await validateObject(broken);
    expect(problems).toHaveLength(2);
    expect(problems).toEqual(expect.arrayContaining([
      expect.stringMatching(/initContainers\[0\]\.securityContext\.readOnlyRootFileSystem: unknown field/),
      expect.stringMatching(/initContainers\[0\]\.startupProbe\.path: unknown field/),
    ]));
    const wrongType = structuredClone(dep) as K8sObject & { spec: { replicas: unknown } };
    wrongType.spec.replicas = 'two';
    expect((await validateObject(wrongType)).join('\n')).toMatch(/replicas/);
  });
});

describe('the sidecar in the rendered pod (ci/native-values.yaml: the defaults)', () => {
  let objs: K8sObject[];
  let pod: PodSpec;
  let side: Container;
  beforeAll(async () => {
    objs = await render('native-values.yaml');
    pod = deploymentOf(objs).pod;
    side = sidecarOf(pod);
  });

  it('pins the hardened security context: non-root uid 65532, read-only root, no privilege escalation, no capabilities, RuntimeDefault seccomp', () => {
    expect(side.securityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: 65532,
      runAsGroup: 65532,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      privileged: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(pod.securityContext).toEqual({ runAsNonRoot: true, fsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } });
    const app = pod.containers.find((c) => c.name === 'app') as Container;
    expect(app.securityContext).toMatchObject({ runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    expect(side.resources?.limits?.memory).toBe('192Mi');
  });

  it('is a native sidecar: the first init container, restartPolicy Always, a startupProbe on /healthz covering the 30-minute retry window', () => {
    expect(pod.initContainers?.map((c) => c.name)).toEqual(['entitlement-sidecar']);
    expect(pod.containers.map((c) => c.name)).toEqual(['app']);
    expect(side.restartPolicy).toBe('Always');
    expect(side.args).toEqual(['run']);
    const startup = side.startupProbe as Probe;
    expect(startup.httpGet.path).toBe('/healthz');
    const deadline = durationSeconds(envValue(side, 'ENTITLEMENT_REGISTER_DEADLINE') ?? '');
    expect(deadline).toBe(1800);
    expect(startup.periodSeconds * startup.failureThreshold).toBeGreaterThanOrEqual(deadline + 60);
    expect(startup.periodSeconds * startup.failureThreshold).toBeLessThan(deadline + 120);
    expect(side.readinessProbe?.httpGet.path).toBe('/healthz');
    // Liveness asks only "does the process work" (never AWS): /livez.
    expect(side.livenessProbe?.httpGet.path).toBe('/livez');
  });

  it("probes the port the sidecar listens on, with the sidecar's own defaults for listen address, file and deadline", () => {
    const port = listenPort(side);
    expect(side.ports).toEqual([{ name: 'entitlement', containerPort: port, protocol: 'TCP' }]);
    for (const probe of [side.startupProbe, side.readinessProbe, side.livenessProbe]) expect(probe?.httpGet.port).toBe(port);
    // The chart's defaults are the sidecar's own defaults (src/config.ts) and the image's (Dockerfile ENV).
    expect(envValue(side, 'ENTITLEMENT_LISTEN')).toBe(settingDefault('ENTITLEMENT_LISTEN'));
    expect(envValue(side, 'ENTITLEMENT_FILE')).toBe(settingDefault('ENTITLEMENT_FILE'));
    expect(envValue(side, 'ENTITLEMENT_REGISTER_DEADLINE')).toBe(settingDefault('ENTITLEMENT_REGISTER_DEADLINE'));
    const dockerfile = readDockerfile().text;
    expect(dockerfile).toContain(`ENTITLEMENT_LISTEN=${envValue(side, 'ENTITLEMENT_LISTEN')}`);
    expect(dockerfile).toContain(`ENTITLEMENT_FILE=${envValue(side, 'ENTITLEMENT_FILE')}`);
    expect(dockerfile).toContain(`EXPOSE ${port}`);
    expect(deploymentOf(objs).annotations).toMatchObject({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(port), 'prometheus.io/path': '/metrics' });
  });

  it('sets only variables the sidecar knows, plus the downward API pod identity', () => {
    const known = new Set<string>([...SETTINGS.map((s) => s.env), 'AWS_REGION', 'AWS_ENDPOINT_URL_MARKETPLACE_METERING', 'POD_NAME', 'POD_NAMESPACE', 'POD_UID']);
    expect([...envOf(side).keys()].filter((n) => !known.has(n))).toEqual([]);
    expect(envOf(side).get('POD_NAME')?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.name');
    expect(envOf(side).get('POD_NAMESPACE')?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.namespace');
    expect(envOf(side).get('POD_UID')?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.uid');
    expect(envValue(side, 'MARKETPLACE_PRODUCT_CODE')).toBe('8vc3uh6z5ii2pxnw3uehe2fj7');
    expect(envValue(side, 'MARKETPLACE_PUBLIC_KEY_VERSION')).toBe('1');
    // Region comes from the IRSA webhook at run time, never a chart default.
    expect(envOf(side).has('AWS_REGION')).toBe(false);
    expect(envOf(side).has('AWS_ENDPOINT_URL_MARKETPLACE_METERING')).toBe(false);
  });

  it('shares an emptyDir: read-write in the sidecar, read-only in the app, at the directory of ENTITLEMENT_FILE', () => {
    const file = envValue(side, 'ENTITLEMENT_FILE') as string;
    const dir = file.slice(0, file.lastIndexOf('/'));
    const vol = pod.volumes.find((v) => v.name === 'marketplace-entitlement');
    expect(vol?.emptyDir).toEqual({ medium: 'Memory', sizeLimit: '10Mi' });
    expect(side.volumeMounts).toContainEqual({ name: 'marketplace-entitlement', mountPath: dir });
    const app = pod.containers.find((c) => c.name === 'app') as Container;
    expect(app.volumeMounts).toEqual([{ name: 'marketplace-entitlement', mountPath: dir, readOnly: true }]);
    expect(envValue(app, 'ENTITLEMENT_FILE')).toBe(file);
    expect(envValue(app, 'ENTITLEMENT_HEALTH_URL')).toBe(`http://127.0.0.1:${listenPort(side)}/healthz`);
  });

  it("sizes the volume for the usage journal's bound and its compacted copy plus the entitlement files, with a margin, as the README says", () => {
    const sizeLimit = String(pod.volumes.find((v) => v.name === 'marketplace-entitlement')?.emptyDir?.sizeLimit);
    const [, n, unit] = /^(\d+)(Mi)$/.exec(sizeLimit) ?? [];
    const bytes = Number(n) * (unit === 'Mi' ? MIB : 1);
    const needed = 2 * DEFAULT_JOURNAL_MAX_BYTES + ENTITLEMENT_ROOM_BYTES;
    expect(bytes).toBeGreaterThanOrEqual(needed * 1.2);
    // A tmpfs of that size leaves the journal its full bound.
    expect(journalMaxBytesFor(bytes)).toBe(DEFAULT_JOURNAL_MAX_BYTES);
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    expect(readme).toContain(`an \`emptyDir\` (\`medium: Memory\`, \`sizeLimit: ${sizeLimit}\`)`);
    expect(readme).toContain(`\`entitlementVolume.sizeLimit\` is ${sizeLimit}`);
  });

  it('mounts the public key from the ConfigMap the chart makes, at MARKETPLACE_PUBLIC_KEY_FILE', () => {
    const [cm] = byKind(objs, 'ConfigMap') as (K8sObject & { data: Record<string, string> })[];
    expect(cm?.data['public-key.pem']).toMatch(/^-----BEGIN PUBLIC KEY-----\n[\s\S]+\n-----END PUBLIC KEY-----\n$/);
    const keyVol = pod.volumes.find((v) => v.configMap !== undefined);
    expect(keyVol?.configMap?.name).toBe(cm?.metadata.name);
    const mount = side.volumeMounts?.find((m) => m.name === keyVol?.name);
    expect(mount).toEqual({ name: keyVol?.name, mountPath: '/etc/marketplace', readOnly: true });
    expect(envValue(side, 'MARKETPLACE_PUBLIC_KEY_FILE')).toBe('/etc/marketplace/public-key.pem');
  });

  it('runs the pod under a ServiceAccount that carries the IRSA role annotation', () => {
    const [sa] = byKind(objs, 'ServiceAccount');
    expect(sa?.metadata.annotations).toEqual({ 'eks.amazonaws.com/role-arn': 'arn:aws:iam::111122223333:role/paid-app-marketplace-register-usage' });
    expect(pod.serviceAccountName).toBe(sa?.metadata.name);
  });

  it('lets the sidecar report on its own pod: only create events and patch pods/status, bound to the pod\'s ServiceAccount', () => {
    expect(envValue(side, 'ENTITLEMENT_KUBERNETES_STATUS')).toBe('auto');
    const [role] = byKind(objs, 'Role') as (K8sObject & { rules: unknown[] })[];
    expect(role?.rules).toEqual([
      { apiGroups: [''], resources: ['events'], verbs: ['create'] },
      { apiGroups: [''], resources: ['pods/status'], verbs: ['patch'] },
    ]);
    const [binding] = byKind(objs, 'RoleBinding') as (K8sObject & { roleRef: { name: string }; subjects: unknown[] })[];
    expect(binding?.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role?.metadata.name });
    expect(binding?.subjects).toEqual([{ kind: 'ServiceAccount', name: pod.serviceAccountName, namespace: 'paid-app' }]);
    expect((pod as PodSpec & { readinessGates?: unknown }).readinessGates).toBeUndefined();
  });

  it('uses the image tag that matches the chart appVersion and the package version', () => {
    const lib = parse(readFileSync(join(CHARTS_DIR, 'entitlement-sidecar', 'Chart.yaml'), 'utf8')) as { appVersion: string };
    expect(lib.appVersion).toBe(pkg.version);
    expect(readDockerfile().version).toBe(pkg.version);
    expect(side.image).toBe(`709825985650.dkr.ecr.us-east-1.amazonaws.com/example-seller/entitlement-sidecar:${pkg.version}`);
  });
});

describe('the other shapes', () => {
  it('classic sidecar: a plain container with a readinessProbe on /healthz, no restartPolicy, no startupProbe, key from a Secret', async () => {
    const objs = await render('classic-values.yaml');
    const { pod } = deploymentOf(objs);
    expect(pod.initContainers).toBeUndefined();
    expect(pod.containers.map((c) => c.name)).toEqual(['app', 'entitlement-sidecar']);
    const side = sidecarOf(pod);
    expect(side.restartPolicy).toBeUndefined();
    expect(side.startupProbe).toBeUndefined();
    expect(side.readinessProbe?.httpGet).toEqual({ path: '/healthz', port: listenPort(side) });
    expect(side.livenessProbe?.httpGet).toEqual({ path: '/livez', port: listenPort(side) });
    expect(pod.volumes.find((v) => v.secret !== undefined)?.secret).toEqual({
      secretName: 'paid-app-marketplace-public-key',
      items: [{ key: 'key.pem', path: 'key.pem' }],
    });
    expect(envValue(side, 'MARKETPLACE_PUBLIC_KEY_FILE')).toBe('/etc/marketplace/key.pem');
    expect(envValue(side, 'MARKETPLACE_TRUSTED_PRODUCT_CODES')).toBe('8vc3uh6z5ii2pxnw3uehe2fj7');
    expect(envValue(side, 'ENTITLEMENT_KUBERNETES_STATUS')).toBe('off');
    expect(byKind(objs, 'Role')).toEqual([]);
    expect(byKind(objs, 'RoleBinding')).toEqual([]);
  });

  it('mode init: a plain init container that runs `register` once: no restartPolicy, probes, ports or listen address; the app gets only the file', async () => {
    const objs = await render('init-values.yaml');
    const { pod, annotations } = deploymentOf(objs);
    expect(pod.initContainers?.map((c) => c.name)).toEqual(['entitlement-sidecar']);
    expect(pod.containers.map((c) => c.name)).toEqual(['app']);
    const side = sidecarOf(pod);
    expect(side.args).toEqual(['register']);
    expect(side.restartPolicy).toBeUndefined();
    expect(side.startupProbe).toBeUndefined();
    expect(side.readinessProbe).toBeUndefined();
    expect(side.livenessProbe).toBeUndefined();
    expect(side.ports).toBeUndefined();
    expect(side.terminationMessagePolicy).toBe('FallbackToLogsOnError');
    for (const name of ['ENTITLEMENT_LISTEN', 'ENTITLEMENT_USAGE_LISTEN', 'MARKETPLACE_USAGE_DIMENSIONS']) expect(envOf(side).has(name), name).toBe(false);
    expect(envValue(side, 'MARKETPLACE_PRODUCT_CODE')).toBe('8vc3uh6z5ii2pxnw3uehe2fj7');
    expect(envValue(side, 'ENTITLEMENT_KUBERNETES_STATUS')).toBe('auto');
    expect(envValue(side, 'ENTITLEMENT_REGISTER_DEADLINE')).toBe(settingDefault('ENTITLEMENT_REGISTER_DEADLINE'));
    // The same hardened container, the same volume (read-write here, read-only in the app).
    expect(side.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    expect(side.volumeMounts).toContainEqual({ name: 'marketplace-entitlement', mountPath: '/var/run/marketplace' });
    // The app reads the file: no /healthz to point at once the init container has exited.
    const app = pod.containers.find((c) => c.name === 'app') as Container;
    expect(app.env).toEqual([{ name: 'ENTITLEMENT_FILE', value: envValue(side, 'ENTITLEMENT_FILE') }]);
    // The readiness gate stays: register sets the condition before it exits; the RBAC for it is there.
    expect((pod as PodSpec & { readinessGates?: unknown }).readinessGates).toEqual([{ conditionType: 'marketplace.aws/entitled' }]);
    expect(byKind(objs, 'Role')).toHaveLength(1);
    expect(annotations).toEqual({});
    // The sidecar's own parser accepts what the chart renders (register reads the settings run reads).
    const settings = Object.fromEntries((side.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value as string]));
    const dir = mkdtempSync(join(tmpdir(), 'chart-init-'));
    try {
      writeFileSync(join(dir, 'key.pem'), (byKind(objs, 'ConfigMap')[0] as K8sObject & { data: Record<string, string> }).data['public-key.pem'] ?? '');
      const config = loadSidecarConfig([], { ...settings, ENTITLEMENT_FILE: join(dir, 'entitlement.json'), MARKETPLACE_PUBLIC_KEY_FILE: join(dir, 'key.pem') });
      expect(config.source).toMatchObject({ kind: 'register-usage' });
      // ... and `register` runs with it: no setting that needs a running process.
      expect(initModeRefusal(config)).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('mode init ignores nativeSidecar: still one init container, no restartPolicy', async () => {
    const { pod } = deploymentOf(await render('init-values.yaml', ['--set', 'entitlement-sidecar.nativeSidecar=false']));
    expect(pod.initContainers?.map((c) => [c.name, c.restartPolicy])).toEqual([['entitlement-sidecar', undefined]]);
    expect(pod.containers.map((c) => c.name)).toEqual(['app']);
  });

  it('existing ServiceAccount: none is created and the pod uses the named one', async () => {
    const objs = await render('existing-serviceaccount-values.yaml');
    expect(byKind(objs, 'ServiceAccount')).toEqual([]);
    expect(byKind(objs, 'ConfigMap')).toEqual([]);
    const { pod } = deploymentOf(objs);
    expect(pod.serviceAccountName).toBe('paid-app-register-usage');
    expect(pod.volumes.find((v) => v.configMap !== undefined)?.configMap?.name).toBe('paid-app-marketplace-public-key');
    expect(envValue(sidecarOf(pod), 'MARKETPLACE_PUBLIC_KEY_VERSION')).toBe('2');
  });

  it('seller image with everything baked in: the chart sets no product value and mounts no key; image by digest', async () => {
    const objs = await render('baked-image-values.yaml');
    const { pod } = deploymentOf(objs);
    const side = sidecarOf(pod);
    expect([...envOf(side).keys()].filter((n) => n.startsWith('MARKETPLACE_'))).toEqual([]);
    expect(pod.volumes.map((v) => v.name)).toEqual(['marketplace-entitlement']);
    expect(side.image).toMatch(/@sha256:[0-9a-f]{64}$/);
    expect(byKind(objs, 'ConfigMap')).toEqual([]);
  });

  it('contract seller image with everything baked in (examples/seller-image-license-manager): only the check interval and grace are set', async () => {
    const objs = await render('license-manager-values.yaml', [
      '--set', 'entitlement-sidecar.bakedIntoImage=true',
      '--set', 'entitlement-sidecar.license.productSku=',
      '--set', 'entitlement-sidecar.license.trustedProductSkus=null',
      '--set', 'entitlement-sidecar.license.entitlements=null',
    ]);
    const side = sidecarOf(deploymentOf(objs).pod);
    const names = [...envOf(side).keys()];
    expect(names.filter((n) => n.startsWith('MARKETPLACE_') || n === 'ENTITLEMENT_SOURCE')).toEqual([]);
    expect(envValue(side, 'ENTITLEMENT_LICENSE_CHECK_INTERVAL')).toBe('15m');
    expect(envValue(side, 'ENTITLEMENT_LICENSE_GRACE')).toBe('24h');
    expect(byKind(objs, 'ConfigMap')).toEqual([]);
  });

  it('metrics: the ServiceMonitor scrapes /metrics on the Service port that targets the sidecar port; IPv6 listen and a 1 h window', async () => {
    const objs = await render('metrics-values.yaml');
    const { pod, labels, annotations } = deploymentOf(objs);
    const side = sidecarOf(pod);
    expect(envValue(side, 'ENTITLEMENT_LISTEN')).toBe('[::]:9898');
    expect(listenPort(side)).toBe(9898);
    for (const probe of [side.startupProbe, side.readinessProbe, side.livenessProbe]) expect(probe?.httpGet.port).toBe(9898);
    const startup = side.startupProbe as Probe;
    expect(startup.periodSeconds * startup.failureThreshold).toBeGreaterThanOrEqual(3600 + 60);
    expect(annotations).toEqual({ 'example.com/team': 'payments', 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9898', 'prometheus.io/path': '/metrics' });
    const [svc] = byKind(objs, 'Service') as (K8sObject & { spec: { selector: Record<string, string>; ports: { name: string; port: number; targetPort: string }[] } })[];
    const [sm] = byKind(objs, 'ServiceMonitor') as (K8sObject & { spec: { selector: { matchLabels: Record<string, string> }; endpoints: { port: string; path: string }[] } })[];
    expect(svc?.spec.ports).toEqual([{ name: 'entitlement', port: 9898, targetPort: 'entitlement', protocol: 'TCP' }]);
    expect(side.ports?.map((p) => p.name)).toContain(svc?.spec.ports[0]?.targetPort);
    for (const [k, v] of Object.entries(svc?.spec.selector ?? {})) expect(labels[k]).toBe(v);
    for (const [k, v] of Object.entries(sm?.spec.selector.matchLabels ?? {})) expect(svc?.metadata.labels?.[k]).toBe(v);
    expect(sm?.spec.endpoints).toEqual([{ port: 'entitlement', path: '/metrics', interval: '30s' }]);
    expect(sm?.metadata.labels?.release).toBe('kube-prometheus-stack');
    expect(envValue(side, 'AWS_REGION')).toBe('eu-west-1');
    expect((pod as PodSpec & { readinessGates?: unknown }).readinessGates).toEqual([{ conditionType: 'marketplace.aws/entitled' }]);
    expect(envValue(side, 'MARKETPLACE_TRUSTED_PRODUCT_CODES')).toBe('8vc3uh6z5ii2pxnw3uehe2fj7,4pq0example0paid0tier0code');
  });
});

describe('impossible combinations fail with a clear message', () => {
  const base = 'native-values.yaml';
  const cases: { name: string; file?: string; set: string[]; message: RegExp }[] = [
    { name: 'the example defaults without their product code', file: '', set: ['entitlement-sidecar.productCode='], message: /productCode is required/ },
    { name: 'no image repository', set: ['entitlement-sidecar.image.repository='], message: /image\.repository is required.*seller ECR repository/ },
    { name: 'two public key sources', set: ['entitlement-sidecar.publicKey.secretName=k'], message: /exactly one of publicKey\.pem, publicKey\.secretName, publicKey\.configMapName.*set now: publicKey\.pem, publicKey\.secretName/ },
    { name: 'no public key source', set: ['entitlement-sidecar.publicKey.pem='], message: /exactly one of .*set now: none/ },
    { name: 'a public key that is no PEM', set: ['entitlement-sidecar.publicKey.pem=not-a-key'], message: /publicKey\.pem: Does not match pattern '\^\$\|-----BEGIN PUBLIC KEY-----'/ },
    { name: 'baked image plus chart product values', set: ['entitlement-sidecar.bakedIntoImage=true'], message: /bakedIntoImage is true, so publicKey\.pem, productCode, trustedProductCodes must be empty/ },
    { name: 'a product code outside the trusted list', set: ['entitlement-sidecar.trustedProductCodes={other-code}'], message: /productCode "8vc3uh6z5ii2pxnw3uehe2fj7" is not in trustedProductCodes/ },
    { name: 'a created ServiceAccount without IRSA role', set: ['entitlement-sidecar.serviceAccount.roleArn='], message: /roleArn is required: on EKS, RegisterUsage accepts only IRSA.*Pod Identity and the node role are not supported/ },
    { name: 'two different role ARNs', set: ['entitlement-sidecar.serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn=arn:aws:iam::111122223333:role/other'], message: /disagree/ },
    { name: 'an existing ServiceAccount without a name', set: ['entitlement-sidecar.serviceAccount.create=false', 'entitlement-sidecar.serviceAccount.roleArn='], message: /serviceAccount\.name is required when serviceAccount\.create is false/ },
    { name: 'a role ARN for an existing ServiceAccount', set: ['entitlement-sidecar.serviceAccount.create=false', 'entitlement-sidecar.serviceAccount.name=sa'], message: /annotate your existing ServiceAccount "sa" instead/ },
    { name: 'a readiness gate nobody sets', set: ['entitlement-sidecar.kubernetesStatus.enabled=false', 'entitlement-sidecar.kubernetesStatus.readinessGate=true'], message: /readinessGate needs kubernetesStatus\.enabled.*never turn Ready/ },
    { name: 'a ServiceMonitor without metrics', set: ['entitlement-sidecar.metrics.enabled=false', 'entitlement-sidecar.metrics.serviceMonitor.enabled=true'], message: /serviceMonitor\.enabled needs metrics\.enabled/ },
    { name: 'a startup probe shorter than the retry window', set: ['entitlement-sidecar.startupProbe.failureThreshold=12'], message: /startupProbe allows 60s .* registerDeadline is 1800s/ },
    { name: 'a retry window over 24 h', set: ['entitlement-sidecar.registerDeadline=25h'], message: /registerDeadline must be from 1s to 24h/ },
    { name: 'usage metering on a node-disk volume smaller than the journal needs', set: ['entitlement-sidecar.usage.dimensions={gb}', 'entitlement-sidecar.entitlementVolume.medium=', 'entitlement-sidecar.entitlementVolume.sizeLimit=4Mi'], message: /entitlementVolume\.sizeLimit 4Mi is too small for usage metering on node disk .*set at least 9Mi, or medium: Memory/ },
    { name: 'a usage port equal to the probe port', set: ['entitlement-sidecar.usage.dimensions={gb}', 'entitlement-sidecar.usage.port=9797'], message: /usage\.port must differ from port \(9797\)/ },
    { name: 'a contract product without a SKU', file: 'license-manager-values.yaml', set: ['entitlement-sidecar.license.productSku='], message: /license\.productSku is required with entitlementSource license-manager/ },
    { name: 'a contract product without entitlements', file: 'license-manager-values.yaml', set: ['entitlement-sidecar.license.entitlements=null'], message: /license\.entitlements is required with entitlementSource license-manager/ },
    { name: 'a contract product with a product code', file: 'license-manager-values.yaml', set: ['entitlement-sidecar.productCode=8vc3uh6z5ii2pxnw3uehe2fj7'], message: /entitlementSource is license-manager, so productCode must be empty/ },
    { name: 'a contract product with usage metering', file: 'license-manager-values.yaml', set: ['entitlement-sidecar.usage.dimensions={gb}'], message: /entitlementSource is license-manager, so usage\.dimensions must be empty/ },
    { name: 'an hourly product with a license SKU', set: ['entitlement-sidecar.license.productSku=6b4f0d5e-1c2a-4e8f-9d3b-7a6c5e4d3b2a'], message: /entitlementSource is register-usage, so license\.productSku must be empty/ },
    { name: 'a SKU outside the trusted list', file: 'license-manager-values.yaml', set: ['entitlement-sidecar.license.trustedProductSkus={aaaaaaaa-1c2a-4e8f-9d3b-7a6c5e4d3b2a}'], message: /license\.productSku "6b4f0d5e-1c2a-4e8f-9d3b-7a6c5e4d3b2a" is not in license\.trustedProductSkus/ },
    { name: 'a contract product without IRSA role', file: 'license-manager-values.yaml', set: ['entitlement-sidecar.serviceAccount.roleArn='], message: /roleArn is required: on EKS, the sidecar checks the license with IRSA credentials.*node role gets AuthorizationException/ },
    { name: 'a license Secret for an hourly product', set: ['entitlement-sidecar.license.licenseSecret.enabled=true'], message: /license\.licenseSecret\.enabled is for contract products outside AWS.*RegisterUsage .* works only on EKS, ECS and Fargate/ },
    { name: 'a license Secret without a name', file: 'eks-anywhere-values.yaml', set: ['entitlement-sidecar.license.licenseSecret.name='], message: /license\.licenseSecret\.name is required/ },
    { name: 'mode init with usage metering', file: 'init-values.yaml', set: ['entitlement-sidecar.usage.dimensions={gb}'], message: /mode init runs the sidecar once, before the app, and exits, so usage\.dimensions must be empty: usage metering needs the running sidecar \(mode: sidecar\)/ },
    { name: 'mode init for a contract product', file: 'license-manager-values.yaml', set: ['entitlement-sidecar.mode=init'], message: /mode init runs the sidecar once, before the app, and exits, so entitlementSource must be register-usage: license-manager .* needs mode: sidecar/ },
    { name: 'mode init with a ServiceMonitor', file: 'init-values.yaml', set: ['entitlement-sidecar.metrics.serviceMonitor.enabled=true'], message: /mode init .* serves no \/metrics, so metrics\.serviceMonitor\.enabled must be false \(or use mode: sidecar\)/ },
    { name: 'extraEnv overriding a chart-set variable', set: ['entitlement-sidecar.extraEnv[0].name=MARKETPLACE_PRODUCT_CODE', 'entitlement-sidecar.extraEnv[0].value=free'], message: /extraEnv must not set MARKETPLACE_PRODUCT_CODE/ },
  ];
  it.each(cases)('$name', async ({ file, set, message }) => {
    const args = [...(file === '' ? [] : ['-f', ci(file ?? base)]), ...set.flatMap((s) => ['--set', s])];
    const r = await ws.helm(['template', 'paid-app', 'charts/paid-app-example', '--kube-version', '1.31.0', ...args]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(message);
  });

  it('values.schema.json rejects unknown keys and malformed values', async () => {
    const rejects = async (set: string, message: RegExp) => {
      const r = await ws.helm(['template', 'paid-app', 'charts/paid-app-example', '-f', ci(base), '--set', set]);
      expect(r.code, set).toBe(1);
      expect(r.stderr, set).toMatch(message);
    };
    await rejects('entitlement-sidecar.nativeSideCar=false', /Additional property nativeSideCar is not allowed/);
    await rejects('replicas=2', /Additional property replicas is not allowed/);
    await rejects('entitlement-sidecar.port=70000', /port: Must be less than or equal to 65535/);
    await rejects('entitlement-sidecar.serviceAccount.roleArn=my-role', /roleArn: Does not match pattern/);
    await rejects('entitlement-sidecar.registerDeadline=30 minutes', /registerDeadline: Does not match pattern/);
    await rejects('entitlement-sidecar.productCode=bad code!', /productCode: Does not match pattern/);
    await rejects('entitlement-sidecar.logLevel=verbose', /logLevel: logLevel must be one of/);
    await rejects('entitlement-sidecar.entitlementSource=contract', /entitlementSource: entitlementSource must be one of/);
    await rejects('entitlement-sidecar.mode=job', /mode: mode must be one of the following: "sidecar", "init"/);
    await rejects('entitlement-sidecar.license.checkoutType=FLOATING', /license\.checkoutType: license\.checkoutType must be one of the following: "PROVISIONAL", "PERPETUAL"/);
    await rejects('entitlement-sidecar.license.entitlements[0].unit=Seats', /license\.entitlements\.0\.unit: license\.entitlements\.0\.unit must be one of the following: "Count"/);
  });
});

describe('README values tables and values.schema.json, generated from values.yaml (scripts/chart-docs.mjs)', () => {
  const script = join(REPO_ROOT, 'scripts', 'chart-docs.mjs');
  const check = (chartsDir?: string) =>
    run(process.execPath, [script, '--check', ...(chartsDir === undefined ? [] : ['--charts-dir', chartsDir])], { timeoutMs: 60_000, cwd: REPO_ROOT });
  /** A copy of charts/ whose values.yaml of `chart` is edited by `edit`. */
  function editedCopy(chart: string, edit: (text: string) => string): { dir: string; dispose: () => void } {
    const dir = mkdtempSync(join(tmpdir(), 'chart-docs-'));
    cpSync(CHARTS_DIR, dir, { recursive: true });
    const file = join(dir, chart, 'values.yaml');
    writeFileSync(file, edit(readFileSync(file, 'utf8')));
    return { dir, dispose: () => rmSync(dir, { recursive: true, force: true }) };
  }

  it('are committed as the annotations generate them, for both charts', async () => {
    const r = await check();
    // On a failure: `node scripts/chart-docs.mjs`, then commit the regenerated files.
    expect(r.code, r.stderr).toBe(0);
  });

  it.each([
    ['entitlement-sidecar', '## @section Probes', '## @section Health probes', ['README.md']],
    ['entitlement-sidecar', '## @param logLevel Log level (LOG_LEVEL).', '## @param logLevel The log level (LOG_LEVEL).', ['README.md', 'values.schema.json']],
    ['entitlement-sidecar', '## @schema usage.port {"minimum": 1, "maximum": 65535}', '## @schema usage.port {"minimum": 1024, "maximum": 65535}', ['values.schema.json']],
    ['paid-app-example', '## @param app.port Port the app serves on.', '## @param app.port The port the app serves on.', ['README.md', 'values.schema.json']],
  ] as const)('fail the check, naming the stale file, when %s\'s values.yaml changes (%s)', async (chart, from, to, stale) => {
    const copy = editedCopy(chart, (t) => {
      expect(t).toContain(from);
      return t.replace(from, to);
    });
    try {
      const r = await check(copy.dir);
      expect(r.code).toBe(1);
      for (const file of ['README.md', 'values.schema.json']) {
        expect(r.stderr.includes(join(copy.dir, chart, file)), `${file} in ${r.stderr}`).toBe((stale as readonly string[]).includes(file));
      }
    } finally {
      copy.dispose();
    }
  });

  it('refuse a value without a @param line, and a @schema line for a value that does not exist', async () => {
    const undocumented = editedCopy('entitlement-sidecar', (t) => `${t}\nnewValue: 1\n`);
    const misnamed = editedCopy('entitlement-sidecar', (t) => t.replace('## @schema usage.port {', '## @schema usage.prot {'));
    try {
      const a = await check(undocumented.dir);
      expect(a.code).toBe(2);
      expect(a.stderr).toMatch(/Missing metadata for key: newValue/);
      const b = await check(misnamed.dir);
      expect(b.code).toBe(2);
      expect(b.stderr).toMatch(/entitlement-sidecar\/values\.yaml:\d+: @schema usage\.prot: no such value in values\.yaml/);
    } finally {
      undocumented.dispose();
      misnamed.dispose();
    }
  });
});

describe("the library chart's schema and the sidecar's own parsers", () => {
  const schema = JSON.parse(readFileSync(join(CHARTS_DIR, 'entitlement-sidecar', 'values.schema.json'), 'utf8')) as {
    properties: Record<string, { pattern?: string; items?: { pattern?: string }; properties?: Record<string, { pattern?: string; items?: { pattern?: string } }> }>;
  };
  const p = schema.properties;
  const codes = ['prod-abc123', '8vc3uh6z5ii2pxnw3uehe2fj7', 'a/b=c:d_e.f@g-h', 'x'.repeat(255), 'x'.repeat(256), 'bad code', 'prod-ä', 'prod-abc\n'];
  const skus = ['7a1c2b3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d', '7A1C2B3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D', '7a1c2b3d4e5f4a6b8c7d9e0f1a2b3c4d', '7a1c2b3d-4e5f-4a6b-8c7d-9e0f1a2b3c4g', ''];
  const accepts = (pattern: string | undefined, value: string) => new RegExp(pattern as string, 'u').test(value);

  it('accepts and refuses the same product codes as MARKETPLACE_PRODUCT_CODE (empty aside: the chart default)', () => {
    for (const code of codes) {
      expect(accepts(p.productCode?.pattern, code), code).toBe(PRODUCT_CODE_PATTERN.test(code));
      expect(accepts(p.trustedProductCodes?.items?.pattern, code), code).toBe(PRODUCT_CODE_PATTERN.test(code));
    }
    expect(accepts(p.productCode?.pattern, '')).toBe(true);
  });

  it('accepts and refuses the same product IDs as MARKETPLACE_PRODUCT_SKU (empty aside)', () => {
    const license = p.license?.properties ?? {};
    for (const sku of skus.filter((x) => x !== '')) {
      expect(accepts(license.productSku?.pattern, sku), sku).toBe(PRODUCT_SKU_PATTERN.test(sku));
      expect(accepts(license.trustedProductSkus?.items?.pattern, sku), sku).toBe(PRODUCT_SKU_PATTERN.test(sku));
    }
  });
});
