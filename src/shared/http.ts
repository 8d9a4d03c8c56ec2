import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isLoopbackIp } from './addresses.js';

/**
 * HTTP pieces every server here shares (the probe server, the usage intake, the emulator): one way to
 * read a bounded body, one shape of answer and one way to write it, and listening that turns the
 * configuration's mistakes into errors that name the setting.
 */

/** A host and port to listen on; port 0 asks the OS for a free port. */
export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

/** An HTTP answer: status, headers, body. Built by handlers, written by `writeAnswer`. */
export interface Answer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** A JSON answer (one line, newline-terminated), never cached. */
export function jsonAnswer(status: number, value: unknown, headers: Readonly<Record<string, string>> = {}): Answer {
  return { status, headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers }, body: `${JSON.stringify(value)}\n` };
}

/** Writes an answer with its content-length; `head` leaves the body out (a HEAD request). */
export function writeAnswer(res: ServerResponse, answer: Answer, options: { readonly head?: boolean; readonly close?: boolean } = {}): void {
  res.writeHead(answer.status, {
    ...answer.headers,
    'content-length': String(Buffer.byteLength(answer.body)),
    ...(options.close === true ? { connection: 'close' } : {}),
  });
  res.end(options.head === true ? undefined : answer.body);
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
  if (options.loopbackOnly === true && !isLoopbackIp(bound.address)) {
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
