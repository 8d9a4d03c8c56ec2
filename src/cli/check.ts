import { request } from 'node:http';
import { readSettings } from '../config/flags.js';
import { RUN_SETTINGS } from '../config/settings.js';

/**
 * `check`: exit 0 when the local /healthz answers 200, else 1. For ECS health checks and Docker's
 * HEALTHCHECK, where there is no shell or curl in the image.
 */

export const CHECK_TIMEOUT_MS = 3000;

/** The address to dial for a listen address: a wildcard bind is reached on loopback. */
export function dialHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '::1';
  return host;
}

export function probeHealthz(host: string, port: number, timeoutMs = CHECK_TIMEOUT_MS): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: dialHost(host), port, path: '/healthz', method: 'GET', timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

export async function runCheckCommand(argv: readonly string[], env: NodeJS.ProcessEnv, out: (line: string) => void): Promise<number> {
  // The sidecar's own ENTITLEMENT_LISTEN row: the same default and the same parser.
  const { values, problems } = readSettings({ listen: RUN_SETTINGS.listen }, argv, env, { command: 'entitlement-sidecar check', blame: 'env' });
  const { listen } = values;
  if (problems.length > 0 || listen === undefined) {
    for (const p of problems) out(p);
    return 2;
  }
  try {
    const { status, body } = await probeHealthz(listen.host, listen.port);
    out(body.trim());
    return status === 200 ? 0 : 1;
  } catch (err) {
    out(`healthz unreachable on ${dialHost(listen.host)}:${listen.port}: ${(err as Error).message}`);
    return 1;
  }
}
