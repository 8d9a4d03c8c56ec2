/**
 * Validation of rendered Kubernetes objects:
 *  - kubernetes-models' validate() (the Kubernetes OpenAPI schemas: types, required fields, enums);
 *  - an unknown-field check, which validate() does not do: every key of the object must be a property
 *    of the matching kubernetes-models type, read with the TypeScript compiler from the package's own
 *    type definitions (generated from the same OpenAPI schemas). A typo such as `readOnlyRootFileSystem`
 *    or a field at the wrong level fails here instead of being dropped by the API server.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import ts from 'typescript';

const require = createRequire(import.meta.url);
const MODELS_DIR = dirname(require.resolve('kubernetes-models/package.json'));

/** apiVersion/kind -> module path inside kubernetes-models and the interface name. */
type ModelModule = Record<string, new (o: unknown) => { validate(): void }>;
const KINDS: Record<string, { module: string; iface: string; load: () => Promise<unknown> }> = {
  'apps/v1/Deployment': { module: 'apps/v1/Deployment', iface: 'IDeployment', load: () => import('kubernetes-models/apps/v1/Deployment') },
  'v1/ServiceAccount': { module: 'v1/ServiceAccount', iface: 'IServiceAccount', load: () => import('kubernetes-models/v1/ServiceAccount') },
  'v1/ConfigMap': { module: 'v1/ConfigMap', iface: 'IConfigMap', load: () => import('kubernetes-models/v1/ConfigMap') },
  'v1/Service': { module: 'v1/Service', iface: 'IService', load: () => import('kubernetes-models/v1/Service') },
  'v1/Secret': { module: 'v1/Secret', iface: 'ISecret', load: () => import('kubernetes-models/v1/Secret') },
  'rbac.authorization.k8s.io/v1/Role': {
    module: 'rbac.authorization.k8s.io/v1/Role',
    iface: 'IRole',
    load: () => import('kubernetes-models/rbac.authorization.k8s.io/v1/Role'),
  },
  'rbac.authorization.k8s.io/v1/RoleBinding': {
    module: 'rbac.authorization.k8s.io/v1/RoleBinding',
    iface: 'IRoleBinding',
    load: () => import('kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding'),
  },
};

let program: { checker: ts.TypeChecker; types: Map<string, ts.Type> } | undefined;

function loadTypes() {
  if (program !== undefined) return program;
  const entries = Object.entries(KINDS);
  const source = entries
    .map(([, k], i) => `import type { ${k.iface} as T${i} } from ${JSON.stringify(join(MODELS_DIR, k.module))};\nexport declare const v${i}: T${i};`)
    .join('\n');
  const fileName = join(MODELS_DIR, '__unknown_field_check__.ts');
  const options: ts.CompilerOptions = { strict: true, noEmit: true, skipLibCheck: true, types: [], module: ts.ModuleKind.CommonJS };
  const host = ts.createCompilerHost(options);
  const original = host.getSourceFile.bind(host);
  host.getSourceFile = (name, lang, onError, create) =>
    name === fileName ? ts.createSourceFile(name, source, lang) : original(name, lang, onError, create);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => name === fileName || fileExists(name);
  const p = ts.createProgram([fileName], options, host);
  const checker = p.getTypeChecker();
  const sf = p.getSourceFile(fileName);
  if (sf === undefined) throw new Error('could not build the type-check program');
  const moduleSymbol = checker.getSymbolAtLocation(sf);
  const exports = moduleSymbol === undefined ? [] : checker.getExportsOfModule(moduleSymbol);
  const types = new Map<string, ts.Type>();
  entries.forEach(([key], i) => {
    const sym = exports.find((e) => e.name === `v${i}`);
    if (sym === undefined) throw new Error(`no type for ${key}`);
    types.set(key, checker.getTypeOfSymbol(sym));
  });
  program = { checker, types };
  return program;
}

function unknownFields(checker: ts.TypeChecker, value: unknown, type: ts.Type, path: string, out: string[]): void {
  if (value === null || typeof value !== 'object') return;
  const t = checker.getNonNullableType(type);
  if (Array.isArray(value)) {
    const elem = checker.getIndexTypeOfType(t, ts.IndexKind.Number);
    if (elem === undefined) {
      out.push(`${path}: an array where the schema has none`);
      return;
    }
    value.forEach((v, i) => unknownFields(checker, v, elem, `${path}[${i}]`, out));
    return;
  }
  // Unions such as IntOrString: check against the object members only.
  const members = t.isUnion() ? t.types.filter((m) => (m.flags & ts.TypeFlags.Object) !== 0) : [t];
  const target = members[0];
  if (target === undefined) {
    out.push(`${path}: an object where the schema has a scalar`);
    return;
  }
  const index = checker.getIndexInfoOfType(target, ts.IndexKind.String);
  for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
    const prop = checker.getPropertyOfType(target, key);
    if (prop !== undefined) unknownFields(checker, child, checker.getTypeOfSymbol(prop), `${path}.${key}`, out);
    else if (index !== undefined) unknownFields(checker, child, index.type, `${path}.${key}`, out);
    else out.push(`${path}.${key}: unknown field`);
  }
}

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
}

/** The problems of one rendered object (empty when valid). Kinds not listed above are reported. */
export async function validateObject(obj: K8sObject): Promise<string[]> {
  const key = `${obj.apiVersion}/${obj.kind}`;
  const kind = KINDS[key];
  if (kind === undefined) return [`${key}: no schema known to this test; add it to KINDS`];
  const problems: string[] = [];
  const mod = (await kind.load()) as ModelModule;
  const Model = mod[obj.kind];
  if (Model === undefined) return [`${key}: kubernetes-models has no ${obj.kind} class`];
  try {
    new Model(obj).validate();
  } catch (e) {
    problems.push(`${key} ${obj.metadata.name}: ${(e as Error).message}`);
  }
  const { checker, types } = loadTypes();
  const type = types.get(key);
  if (type === undefined) return [...problems, `${key}: no type`];
  const unknown: string[] = [];
  unknownFields(checker, obj, type, obj.kind, unknown);
  return [...problems, ...unknown.map((u) => `${key} ${obj.metadata.name}: ${u}`)];
}

/**
 * prometheus-operator's ServiceMonitor is a CRD kubernetes-models does not carry: the fields this chart
 * renders, checked by hand against monitoring.coreos.com/v1.
 */
export function validateServiceMonitor(obj: K8sObject): string[] {
  const problems: string[] = [];
  const allowed = (o: unknown, keys: string[], where: string) => {
    for (const k of Object.keys((o ?? {}) as object)) if (!keys.includes(k)) problems.push(`${where}.${k}: unknown field`);
  };
  if (obj.apiVersion !== 'monitoring.coreos.com/v1') problems.push(`apiVersion ${obj.apiVersion}`);
  allowed(obj, ['apiVersion', 'kind', 'metadata', 'spec'], 'ServiceMonitor');
  const spec = obj.spec as { selector?: { matchLabels?: Record<string, string> }; endpoints?: Record<string, unknown>[] } | undefined;
  allowed(spec, ['selector', 'endpoints', 'namespaceSelector', 'jobLabel', 'targetLabels', 'podTargetLabels', 'sampleLimit'], 'spec');
  if (spec?.selector?.matchLabels === undefined || Object.keys(spec.selector.matchLabels).length === 0) problems.push('spec.selector.matchLabels is empty');
  if (!Array.isArray(spec?.endpoints) || spec.endpoints.length === 0) problems.push('spec.endpoints is empty');
  for (const [i, ep] of (spec?.endpoints ?? []).entries()) {
    allowed(ep, ['port', 'targetPort', 'path', 'scheme', 'interval', 'scrapeTimeout', 'honorLabels', 'relabelings', 'metricRelabelings'], `spec.endpoints[${i}]`);
    if (typeof ep.port !== 'string') problems.push(`spec.endpoints[${i}].port must name a Service port`);
    if (ep.interval !== undefined && !/^[0-9]+(ms|s|m|h)$/.test(String(ep.interval))) problems.push(`spec.endpoints[${i}].interval ${String(ep.interval)}`);
  }
  return problems;
}
