import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { isLoopbackAddress, type ListenAddress } from '../config/parse.js';
import type { EntitlementState } from '../sidecar/state.js';

/**
 * The local HTTP endpoints. Each answers one question: /healthz "is there a verified entitlement?",
 * /livez "is this process working?" (never "is AWS reachable?", or an AWS outage would become a
 * restart storm), /metrics for Prometheus. Probe hits are not logged.
 */
export const ENDPOINTS = ['/healthz', '/livez', '/metrics'] as const;

export interface HttpServerDeps {
  readonly state: EntitlementState;
  readonly registry: Registry;
  readonly logger: Logger;
}

function send(res: ServerResponse, status: number, contentType: string, body: string, head: boolean): void {
  res.writeHead(status, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  res.end(head ? undefined : body);
}

export function createHttpServer(deps: HttpServerDeps): Server {
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    const head = req.method === 'HEAD';
    if (req.method !== 'GET' && !head) {
      res.setHeader('allow', 'GET, HEAD');
      send(res, 405, 'application/json', '{"error":"method not allowed"}\n', false);
      return;
    }
    switch (path) {
      case '/healthz': {
        const snapshot = deps.state.current;
        send(res, snapshot.status === 'entitled' ? 200 : 503, 'application/json', `${JSON.stringify(snapshot)}\n`, head);
        return;
      }
      case '/livez':
        send(res, 200, 'application/json', '{"status":"ok"}\n', head);
        return;
      case '/metrics':
        send(res, 200, deps.registry.contentType, await deps.registry.metrics(), head);
        return;
      default:
        send(res, 404, 'application/json', `{"error":"not found","endpoints":${JSON.stringify(ENDPOINTS)}}\n`, head);
    }
  };
  return createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      deps.logger.error({ err }, 'http handler failed');
      if (!res.headersSent) send(res, 500, 'application/json', '{"error":"internal error"}\n', false);
      else res.destroy();
    });
  });
}

/**
 * Reads a request body of at most `maxBytes`. Undefined when it is larger: the rest is drained
 * unread, so the caller can still answer 413 on the same connection.
 */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        req.removeAllListeners('data');
        req.resume();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/**
 * A listener that could not be opened as configured: a configuration error (exit code 2), named after
 * the setting, never a stack trace.
 */
export class ListenError extends Error {
  override readonly name = 'ListenError';
  readonly setting: string;
  readonly code: string;

  constructor(setting: string, address: string, code: string, why: string) {
    super(`${setting} ${address}: ${why}`);
    this.setting = setting;
    this.code = code;
  }
}

const LISTEN_ERRORS: Readonly<Record<string, string>> = {
  EADDRINUSE: 'the port is already in use by another process; choose a free port',
  EACCES: 'binding a port below 1024 needs the capability NET_BIND_SERVICE, which the sidecar does not have; use a port from 1024 up',
  EADDRNOTAVAIL: 'this host has no such address; use one of its addresses or 0.0.0.0',
  EAFNOSUPPORT: 'this host does not support that address family (IPv6 off?)',
  ENOTFOUND: 'the host name does not resolve',
  EAI_AGAIN: 'the host name could not be resolved',
  EINVAL: 'the address is not valid for listening',
};

function hostPort(address: ListenAddress): string {
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

/**
 * Binds `server`. With `setting`, a failure the configuration can cause (port in use, privileged port,
 * missing address) is a ListenError naming that setting; with `loopbackOnly`, an address that turns out
 * not to be on loopback once bound is closed again and refused, whatever spelling led to it.
 */
export async function listen(
  server: Server,
  address: ListenAddress,
  options: { readonly setting?: string; readonly loopbackOnly?: boolean } = {},
): Promise<AddressInfo> {
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(address.port, address.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    const why = LISTEN_ERRORS[code];
    if (options.setting === undefined || why === undefined) throw err;
    throw new ListenError(options.setting, hostPort(address), code, why);
  }
  const bound = server.address() as AddressInfo;
  if (options.loopbackOnly === true && !isLoopbackAddress(bound.address)) {
    await closeServer(server);
    throw new ListenError(options.setting ?? 'the listen address', hostPort(address), 'ENOTLOOPBACK', `bound ${bound.address}, which is not a loopback address`);
  }
  return bound;
}

export async function closeServer(server: Server): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  // Keep-alive connections from probes would otherwise hold close() open.
  server.closeAllConnections();
  await closed;
}
