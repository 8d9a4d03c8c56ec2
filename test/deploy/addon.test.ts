/**
 * The example chart as an EKS add-on: each check of AWS's own add-on validator
 * (aws-samples/addons-transformer-for-amazon-eks, src/services/validate.ts), applied with the chart's
 * default values (an add-on installs with none) to the chart as AWS receives it (`helm package`, unpacked,
 * the library inside it) and to what it renders, for every Kubernetes version its Chart.yaml declares.
 * Where the validator's grep is looser than its rule (its lookup pattern needs `{{-`, its `.Capabilities`
 * check compares two renders), the rule itself is checked too.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from './exec.js';
import { chartWorkspace, CHARTS_DIR, type ChartWorkspace } from './helm.js';
import { validateObject, type K8sObject } from './k8s-validate.js';

const NAME = 'paid-app';
const NAMESPACE = 'paid-app';

/** Every minor of the example chart's kubeVersion range (`>=1.A.0-0 <1.B.0-0`), as the add-on lists them. */
function declaredVersions(): string[] {
  const { kubeVersion } = parse(readFileSync(join(CHARTS_DIR, 'paid-app-example', 'Chart.yaml'), 'utf8')) as { kubeVersion?: string };
  const m = /^>=1\.(\d+)\.0-0 <1\.(\d+)\.0-0$/.exec(kubeVersion ?? '');
  if (m === null) throw new Error(`kubeVersion ${String(kubeVersion)} is not of the form >=1.A.0-0 <1.B.0-0 this test enumerates`);
  const [lo, hi] = [Number(m[1]), Number(m[2])];
  return Array.from({ length: hi - lo }, (_, i) => `1.${lo + i}`);
}
const VERSIONS = declaredVersions();

/** One violation per offending line: `file:line: text`. */
type Rule = (line: string) => boolean;
const RULES: Record<string, Rule> = {
  // validator: see the renders below; the rule: no .Capabilities (template names are case-sensitive).
  'no .Capabilities': (l) => /\.Capabilities\b/.test(l),
  // validator: grep -Rine "helm.sh/hook" over the chart.
  'no helm.sh/hook annotations': (l) => /helm\.sh\/hook/i.test(l),
  // validator: grep -RinE '\{\{-\?*.*\s*(lookup)\s'; the rule: no lookup call in any action.
  'no lookup': (l) => /\{\{-\?*.*\s*(lookup)\s/i.test(l) || /\{\{[^}]*\blookup\b/.test(l),
  // validator: lines matching grep '.Release.' but not '.Release.[Name|Namespace]' (a character class);
  // the rule: of .Release, only .Release.Name and .Release.Namespace.
  'of .Release, only .Release.Name and .Release.Namespace': (l) =>
    (/.Release./.test(l) && !/.Release.[Name|Namespace]/.test(l)) || /\.Release\.(?!Name\b|Namespace\b)\w/.test(l),
};

function violations(files: { path: string; text: string }[], rule: Rule): string[] {
  return files.flatMap(({ path, text }) => text.split('\n').flatMap((line, i) => (rule(line) ? [`${path}:${i + 1}: ${line.trim()}`] : [])));
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

let ws: ChartWorkspace;
let packaged: string;
const renders = new Map<string, string>();
const template = (version: string, crds: '--include-crds' | '--skip-crds', noHooks = true) =>
  ws.helm([
    'template', NAME, packaged, '--set', `k8version=${version}`, '--kube-version', version, '--namespace', NAMESPACE, crds,
    ...(noHooks ? ['--no-hooks'] : []),
  ]);

beforeAll(async () => {
  ws = await chartWorkspace();
  const out = join(ws.dir, 'package');
  const pkg = await ws.helm(['package', 'charts/paid-app-example', '-d', out]);
  expect(pkg.code, pkg.stderr).toBe(0);
  const tgz = readdirSync(out).find((f) => f.endsWith('.tgz'));
  const untar = await run('tar', ['-xzf', join(out, tgz ?? ''), '-C', out], { timeoutMs: 30_000 });
  expect(untar.code, untar.stderr).toBe(0);
  packaged = join(out, 'paid-app-example');
}, 60_000);
afterAll(() => ws?.dispose());

describe('the packaged add-on chart', () => {
  it('carries the library inside it, as the validator reads it', () => {
    expect(statSync(join(packaged, 'charts', 'entitlement-sidecar', 'Chart.yaml')).isFile()).toBe(true);
    expect(readdirSync(packaged)).not.toContain('ci');
  });

  it('passes helm lint --strict --with-subcharts with its default values', async () => {
    const r = await ws.helm(['lint', '--strict', '--with-subcharts', packaged]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/2 chart\(s\) linted, 0 chart\(s\) failed/);
  });

  it.each(['paid-app-example', 'entitlement-sidecar'])('%s: its dependencies are all vendored (file://)', async (chart) => {
    const r = await ws.helm(['dependency', 'list', `charts/${chart}`]);
    expect(r.code, r.stderr).toBe(0);
    const rows = r.stdout.split('\n').slice(1).map((l) => l.split('\t').map((c) => c.trim())).filter((c) => c.length >= 3);
    expect(rows.length).toBe(chart === 'paid-app-example' ? 1 : 0);
    for (const [name, , repository, status] of rows) {
      expect(repository, name).toMatch(/^file:\/\//);
      expect(status, name).toBe('ok');
    }
  });

  describe.each([
    ['paid-app-example', (p: string) => !p.startsWith('charts/')],
    ['entitlement-sidecar', (p: string) => p.startsWith('charts/entitlement-sidecar/')],
  ] as const)('%s, every file of it in the package', (_chart, mine) => {
    let files: { path: string; text: string }[];
    beforeAll(() => {
      files = filesUnder(packaged)
        .map((p) => ({ path: relative(packaged, p), text: readFileSync(p, 'utf8') }))
        .filter((f) => mine(f.path));
    });

    it('has templates to check', () => {
      expect(files.some((f) => f.path.endsWith('.tpl'))).toBe(true);
    });

    it.each(Object.keys(RULES))('%s', (rule) => {
      expect(violations(files, RULES[rule] as Rule)).toEqual([]);
    });
  });

  it('the rules catch what they forbid (each can fail)', () => {
    const sample = (text: string) => [{ path: 'templates/x.yaml', text }];
    expect(violations(sample('{{ if semverCompare "<1.29" .Capabilities.KubeVersion.Version }}'), RULES['no .Capabilities'] as Rule)).toHaveLength(1);
    expect(violations(sample('    "helm.sh/hook": pre-install'), RULES['no helm.sh/hook annotations'] as Rule)).toHaveLength(1);
    expect(violations(sample('{{- $s := lookup "v1" "Secret" "ns" "x" }}\n{{ $s := (lookup "v1" "Secret" "ns" "x") }}'), RULES['no lookup'] as Rule)).toHaveLength(2);
    const release = RULES['of .Release, only .Release.Name and .Release.Namespace'] as Rule;
    expect(violations(sample('managed-by: {{ .Release.Service }}\n{{ $root.Release.IsUpgrade }}'), release)).toHaveLength(2);
    expect(violations(sample('{{ .Release.Name }} {{ .root.Release.Namespace }}'), release)).toEqual([]);
  });
});

describe.each(VERSIONS)('Kubernetes %s (declared in Chart.yaml), default values', (version) => {
  it('helm template --no-hooks --include-crds renders, as the validator runs it (with --set k8version)', async () => {
    const r = await template(version, '--include-crds');
    expect(r.code, r.stderr).toBe(0);
    renders.set(version, r.stdout);
  });

  it('renders the same .Capabilities lines without CRDs (the validator\'s check), and no .Capabilities or hooks at all', async () => {
    const skip = await template(version, '--skip-crds', false);
    expect(skip.code, skip.stderr).toBe(0);
    // grep -ilne ".Capabilities": "." is any character and -i ignores case, so it counts every
    // securityContext's `capabilities:`; the validator flags only a difference between the two renders.
    const caps = (out: string) => out.split('\n').filter((l) => /.Capabilities/i.test(l));
    expect(caps(skip.stdout)).toEqual(caps(renders.get(version) ?? ''));
    for (const out of [renders.get(version) ?? '', skip.stdout]) {
      expect(out).not.toMatch(/\.Capabilities/);
      expect(out).not.toMatch(/helm\.sh\/hook/i);
    }
  });

  it('renders the vendor\'s product, a native sidecar and objects valid for Kubernetes, with no unknown fields', async () => {
    const objs = parseAllDocuments(renders.get(version) ?? '')
      .map((d) => d.toJS() as K8sObject | null)
      .filter((o): o is K8sObject => o !== null);
    expect(objs.map((o) => o.kind).sort()).toEqual(['ConfigMap', 'Deployment', 'Role', 'RoleBinding', 'ServiceAccount']);
    const problems: string[] = [];
    for (const obj of objs) problems.push(...(await validateObject(obj)));
    expect(problems).toEqual([]);
    const dep = objs.find((o) => o.kind === 'Deployment') as K8sObject & { spec: { template: { spec: { initContainers?: { name: string; restartPolicy?: string; env?: { name: string; value?: string }[] }[] } } } };
    const [side] = dep.spec.template.spec.initContainers ?? [];
    expect(side?.restartPolicy).toBe('Always');
    expect(side?.env?.find((e) => e.name === 'MARKETPLACE_PRODUCT_CODE')?.value).toBe('8vc3uh6z5ii2pxnw3uehe2fj7');
    expect(side?.env?.find((e) => e.name === 'MARKETPLACE_TRUSTED_PRODUCT_CODES')?.value).toBe('8vc3uh6z5ii2pxnw3uehe2fj7');
    for (const obj of objs) expect(obj.metadata.labels?.['app.kubernetes.io/managed-by'], obj.kind).toBeUndefined();
  });
});

describe('outside the declared versions', () => {
  const minor = (v: string | undefined) => Number(v?.split('.')[1]);
  const outside = [`1.${minor(VERSIONS[0]) - 1}`, `1.${minor(VERSIONS[VERSIONS.length - 1]) + 1}`];
  it.each(outside)('helm refuses Kubernetes %s (kubeVersion)', async (version) => {
    const r = await template(version, '--include-crds');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`which is incompatible with Kubernetes v${version}.0`);
  });
});
