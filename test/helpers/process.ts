import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach } from 'vitest';

export const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

export interface CliProcess {
  readonly child: ChildProcess;
  readonly stdout: () => string;
  readonly stderr: () => string;
  /** Parsed JSON log lines so far. */
  readonly lines: () => Array<Record<string, unknown>>;
  /** Resolves with the first log line matching, or rejects when the process exits or the time runs out. */
  waitForLine(match: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const running = new Set<ChildProcess>();
afterEach(() => {
  for (const c of running) c.kill('SIGKILL');
  running.clear();
});

/** Starts the built CLI as a real process with exactly the given environment (plus PATH). */
export function startCli(args: string[], env: NodeJS.ProcessEnv, wrapper: string[] = []): CliProcess {
  const command = wrapper.length > 0 ? (wrapper[0] as string) : process.execPath;
  const argv = wrapper.length > 0 ? [...wrapper.slice(1), process.execPath, CLI, ...args] : [CLI, ...args];
  // Under scripts/test-at-date.sh every process runs libfaketime, whose settings travel in FAKETIME_*.
  const faketime = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('FAKETIME_')));
  const child = spawn(command, argv, { env: { PATH: process.env.PATH, ...faketime, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let out = '';
  let err = '';
  const waiters = new Set<() => void>();
  child.stdout?.on('data', (c: Buffer) => {
    out += c.toString();
    for (const w of waiters) w();
  });
  child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      running.delete(child);
      for (const w of waiters) w();
      resolve({ code, signal });
    }),
  );
  const lines = () =>
    out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    lines,
    exited,
    waitForLine(match, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = lines().find(match);
          if (found !== undefined) {
            done();
            resolve(found);
          } else if (child.exitCode !== null || child.signalCode !== null) {
            done();
            reject(new Error(`process exited (${child.exitCode ?? child.signalCode}) before the line; stdout:\n${out}\nstderr:\n${err}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`no matching line within ${timeoutMs} ms; stdout:\n${out}\nstderr:\n${err}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
  };
}

/** Runs the CLI to completion and returns its exit code and output. */
export async function runCli(args: string[], env: NodeJS.ProcessEnv, wrapper: string[] = []) {
  const p = startCli(args, env, wrapper);
  const { code } = await p.exited;
  return { code, stdout: p.stdout(), stderr: p.stderr(), lines: p.lines() };
}
