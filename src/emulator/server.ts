/**
 * The HTTP layer: reads bodies (bounded), refuses a Host it does not serve (host-check.ts), routes
 * `POST /` to the Metering API pipeline and `/_emulator/*` to the admin surface, and writes answers
 * with a Date header from the emulator's clock (the SDKs correct their clock skew from it, so it must
 * agree with the signature check).
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { ADMIN_PREFIX, handleAdmin } from './admin.js';
import type { AdminDeps } from './admin.js';
import { readBody } from '../shared/http.js';
import { handleApiCall, type Answer } from './api.js';
import { hostAllowed, type HostPolicy } from './host-check.js';
import type { ApiDeps } from './operations.js';

/** Far above any Metering request (BatchMeterUsage's 25 records included). */
const MAX_BODY_BYTES = 1024 * 1024;

function awsError(status: number, code: string, message: string): Answer {
  return {
    status,
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID(), 'x-amzn-errortype': code },
    body: JSON.stringify({ __type: code, message }),
  };
}

export interface ServerDeps {
  readonly api: ApiDeps;
  readonly admin: AdminDeps;
  readonly hosts: HostPolicy;
  readonly logger: Logger;
}

/** 421 Misdirected Request: the emulator is not the server for that name (RFC 9110, 15.5.20). */
function misdirected(path: string, host: readonly string[] | undefined): Answer {
  const shown = host === undefined ? 'no Host header' : `Host ${JSON.stringify(host.join(', '))}`;
  const message = `The emulator does not answer ${shown}: it answers loopback addresses, localhost and the names given to --allowed-hosts (a guard against DNS rebinding).`;
  if (path.startsWith(ADMIN_PREFIX)) return { status: 421, headers: { 'content-type': 'application/json' }, body: `${JSON.stringify({ error: message })}\n` };
  return awsError(421, 'MisdirectedRequestException', message);
}

export function createEmulatorServer(deps: ServerDeps): Server {
  const send = (res: ServerResponse, answer: Answer, close = false): void => {
    res.writeHead(answer.status, {
      ...answer.headers,
      date: deps.api.now().toUTCString(),
      'content-length': String(Buffer.byteLength(answer.body)),
      ...(close ? { connection: 'close' } : {}),
    });
    res.end(answer.body);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    let body: Buffer | undefined;
    try {
      body = await readBody(req, MAX_BODY_BYTES);
    } catch {
      res.destroy();
      return;
    }
    if (body === undefined) {
      send(res, awsError(413, 'RequestEntityTooLargeException', 'Request body too large'), true);
      return;
    }
    const url = req.url ?? '/';
    const path = url.split('?')[0] ?? '/';
    const method = req.method ?? 'GET';
    if (!hostAllowed(req.headersDistinct['host'], deps.hosts)) {
      send(res, misdirected(path, req.headersDistinct['host']));
    } else if (path.startsWith(ADMIN_PREFIX)) {
      send(res, handleAdmin(method, path, req.headersDistinct['content-type']?.[0], body, deps.admin));
    } else if (method === 'POST' && path === '/') {
      send(res, await handleApiCall({ method, url, headers: req.headersDistinct, body }, deps.api));
    } else {
      send(res, awsError(404, 'UnknownOperationException', `No operation at ${method} ${path}; the Metering API is POST /.`));
    }
  };

  return createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      // Only reached when the emulator is closing (a latency wait was aborted) or on a socket error.
      if (!deps.api.signal.aborted) deps.logger.error({ err }, 'emulator request failed');
      res.destroy();
    });
  });
}
