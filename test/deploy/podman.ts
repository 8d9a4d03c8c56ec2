/**
 * podman on these machines, as test-infra.md describes: runc + cgroupfs, a private storage root, and
 * stand-in base images (no registry is reachable), all prepared by scripts/install-test-tools.sh.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { REPO_ROOT, run, runOk, type RunResult } from './exec.js';

export const CACHE_DIR = process.env.ENTITLEMENT_TEST_CACHE ?? '/var/cache/entitlement-sidecar-test';

export const PODMAN_ENV: NodeJS.ProcessEnv = {
  ...process.env,
  CONTAINERS_CONF: join(CACHE_DIR, 'containers.conf'),
  CONTAINERS_STORAGE_CONF: join(CACHE_DIR, 'storage.conf'),
};

export function podman(args: readonly string[], timeoutMs = 60_000): Promise<RunResult> {
  return run('/usr/bin/podman', args, { timeoutMs, env: PODMAN_ENV });
}

export function podmanOk(args: readonly string[], timeoutMs = 60_000): Promise<RunResult> {
  return runOk('/usr/bin/podman', args, { timeoutMs, env: PODMAN_ENV });
}

/** What the Dockerfile says about its bases, read from the Dockerfile itself. */
export interface DockerfileFacts {
  readonly text: string;
  readonly nodeVersion: string;
  readonly buildBase: string;
  readonly runtimeBase: string;
  readonly version: string;
}

export function readDockerfile(): DockerfileFacts {
  const text = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
  const arg = (name: string): string => {
    const m = new RegExp(`^ARG ${name}=(\\S+)$`, 'm').exec(text);
    if (m?.[1] === undefined) throw new Error(`Dockerfile has no "ARG ${name}=..." default`);
    return m[1];
  };
  const nodeVersion = arg('NODE_VERSION');
  const fromBuild = /^FROM --platform=\$BUILDPLATFORM (\S+) AS build$/m.exec(text)?.[1];
  if (fromBuild === undefined) throw new Error('Dockerfile has no "FROM --platform=$BUILDPLATFORM ... AS build" line');
  return {
    text,
    nodeVersion,
    buildBase: fromBuild.replace('${NODE_VERSION}', nodeVersion),
    runtimeBase: arg('RUNTIME_IMAGE'),
    version: arg('VERSION'),
  };
}

export type Arch = 'amd64' | 'arm64';
export const HOST_ARCH: Arch = process.arch === 'arm64' ? 'arm64' : 'amd64';

/** The stand-ins install-test-tools.sh builds, by the Node version the Dockerfile pins. */
export function standInNames(nodeVersion: string) {
  return {
    build: `localhost/entitlement-sidecar-test/node-build:${nodeVersion}-${HOST_ARCH}`,
    runtime: (arch: Arch) => `localhost/entitlement-sidecar-test/distroless-nodejs24:${nodeVersion}-${arch}`,
  };
}

/** Fails (never skips) with what to do when the machine is not prepared. */
export async function assertPrepared(nodeVersion: string): Promise<void> {
  const problems: string[] = [];
  if (process.getuid?.() !== 0) problems.push('these tests run podman as root (as CI does)');
  for (const f of ['/usr/bin/podman', PODMAN_ENV.CONTAINERS_CONF as string, PODMAN_ENV.CONTAINERS_STORAGE_CONF as string]) {
    if (!existsSync(f)) problems.push(`${f} is missing`);
  }
  if (!existsSync('/proc/sys/fs/binfmt_misc/qemu-aarch64')) problems.push('binfmt for qemu-aarch64 is not enabled');
  if (problems.length === 0) {
    const names = standInNames(nodeVersion);
    for (const image of [names.build, names.runtime('amd64'), names.runtime('arm64')]) {
      const r = await podman(['image', 'exists', image]);
      if (r.code !== 0) problems.push(`stand-in image ${image} is missing (the Dockerfile pins Node ${nodeVersion})`);
    }
  }
  if (problems.length > 0) {
    throw new Error(`${problems.join('; ')}. Run: sudo scripts/install-test-tools.sh (STANDIN_NODE_VERSION must match the Dockerfile's NODE_VERSION)`);
  }
}

/** A long-running process whose stdout lines are kept for assertions. */
export interface Proc {
  readonly child: ChildProcess;
  readonly lines: string[];
  stop(): Promise<void>;
}

/**
 * Starts the emulator from the compiled CLI (dist/, built by `npm test` before vitest runs) on an
 * OS-chosen port of 127.0.0.1 and resolves once it prints its "emulator listening" line.
 */
export async function startEmulator(publicKeyOut: string, extraArgs: readonly string[] = []): Promise<Proc & { url: string }> {
  const cli = join(REPO_ROOT, 'dist', 'cli', 'main.js');
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run npm run build first (npm test does)`);
  const child = spawn(
    process.execPath,
    [cli, 'emulator', '--listen', '127.0.0.1:0', '--region', 'us-east-1', '--public-key-out', publicKeyOut, ...extraArgs],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } },
  );
  const lines: string[] = [];
  const stderr: string[] = [];
  child.stderr?.on('data', (c: Buffer) => stderr.push(c.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`emulator did not start within 15 s: ${lines.join('\n')} ${stderr.join('')}`));
    }, 15_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      lines.push(line);
      try {
        const msg = JSON.parse(line) as { msg?: string; url?: string };
        if (msg.msg === 'emulator listening' && typeof msg.url === 'string') {
          clearTimeout(timer);
          resolve(msg.url);
        }
      } catch {
        // not a JSON line
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`emulator exited ${code} before listening: ${stderr.join('')}`));
    });
  });
  return {
    child,
    lines,
    url,
    stop: () => stopProcess(child),
  };
}

export function stopProcess(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
