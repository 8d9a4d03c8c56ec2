/**
 * Running the real tools (podman, helm, python3) from deployment tests: every call has a timeout,
 * every wait is a bounded poll. Nothing here sleeps in place of synchronisation.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

export interface RunOptions {
  readonly timeoutMs: number;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  readonly input?: string;
}

/** Runs a command to completion; SIGKILLs it at the timeout (the result then has signal SIGKILL). */
export function run(cmd: string, args: readonly string[], opts: RunOptions): Promise<RunResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd ?? REPO_ROOT,
      env: opts.env ?? process.env,
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (c: Buffer) => out.push(c));
    child.stderr?.on('data', (c: Buffer) => err.push(c));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        ms: Date.now() - started,
      });
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Like run, but throws with the command's output unless it exits 0. */
export async function runOk(cmd: string, args: readonly string[], opts: RunOptions): Promise<RunResult> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) {
    throw new Error(
      `${cmd} ${args.join(' ')} ${r.signal === 'SIGKILL' ? `timed out after ${opts.timeoutMs} ms` : `exited ${r.code}`}\n` +
        `--- stdout\n${r.stdout.slice(-4000)}\n--- stderr\n${r.stderr.slice(-4000)}`,
    );
  }
  return r;
}

/**
 * Polls `probe` until it returns something other than undefined, or fails after `deadlineMs` with
 * `describe()` (the last state seen) in the message.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  opts: { deadlineMs: number; intervalMs?: number; describe?: () => Promise<string> | string },
): Promise<T> {
  const end = Date.now() + opts.deadlineMs;
  let lastError: unknown;
  for (let attempt = 0; ; attempt++) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() >= end) break;
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 200));
  }
  const state = opts.describe === undefined ? '' : `\n${await opts.describe()}`;
  const cause = lastError === undefined ? '' : ` (last error: ${(lastError as Error).message})`;
  throw new Error(`timed out after ${opts.deadlineMs} ms waiting for ${what}${cause}${state}`);
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** GET on 127.0.0.1 with a short timeout; the status and the body text. */
export async function httpGet(url: string, timeoutMs = 3000): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  return { status: res.status, body: await res.text() };
}
