import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';

/**
 * A small tmpfs that lives in a private mount namespace of its own, so a test can fill a real volume
 * (ENOSPC) without touching the host's mounts. A holder process keeps the namespace alive; processes
 * started with `wrapper` (nsenter into it) see the tmpfs at `dir`, everything else sees an empty
 * directory. Needs root, as the tests run in CI.
 */
export interface PrivateTmpfs {
  readonly dir: string;
  /** Prefix for startCli/runCli so the sidecar runs inside the namespace. */
  readonly wrapper: string[];
  /** Runs a shell command inside the namespace and returns its stdout. */
  sh(command: string): string;
}

export async function privateTmpfs(sizeKiB: number): Promise<PrivateTmpfs> {
  const dir = mkdtempSync(join(tmpdir(), 'entitlement-tmpfs-'));
  const holder = spawn(
    'unshare',
    ['-m', '--propagation', 'private', 'sh', '-c', `mount -t tmpfs -o size=${sizeKiB}k,mode=0755 tmpfs "${dir}" && echo ready && exec sleep 3600`],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve, reject) => {
    holder.once('exit', (code) => reject(new Error(`could not make a private tmpfs (exit ${code}); the tests need root`)));
    holder.stdout?.once('data', () => resolve());
  });
  afterEach(() => {
    holder.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  const wrapper = ['nsenter', '-t', String(holder.pid), '-m', '--'];
  return {
    dir,
    wrapper,
    sh: (command) => execFileSync(wrapper[0] as string, [...wrapper.slice(1), 'sh', '-c', command], { encoding: 'utf8' }),
  };
}
