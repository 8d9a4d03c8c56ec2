/**
 * The HTTP layer: reads bodies (bounded), refuses a Host it does not serve (host-check.ts), routes
 * `POST /` to the API pipeline (every service) and `/_emulator/*` to the admin surface, and writes answers
 * with a Date header from the emulator's clock (the SDKs correct their clock skew from it, so it must
 * agree with the signature check).
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { ADMIN_PREFIX, handleAdmin } from './admin.js';
import type { AdminDeps } from './admin.js';
import { jsonAnswer, readBody, writeAnswer, type Answer } from '../shared/http.js';
import { ApiError, protocolError, type ProtocolErrorCode } from './errors.js';
import { handleApiCall } from './api.js';
import { hostAllowed, type HostPolicy } from './host-check.js';
import type { ApiDeps } from './service.js';

/** Far above any request of the services served (BatchMeterUsage's 25 records included). */
const MAX_BODY_BYTES = 1024 * 1024;

/** A protocol-level AWS error answered before any service is chosen. */
function awsError(code: ProtocolErrorCode, message: string, status?: number): Answer {
  const error = status === undefined ? protocolError(code, message) : new ApiError(code, message, status);
  return {
    status: error.status,
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID(), 'x-amzn-errortype': code },
    body: error.body(),
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
  if (path.startsWith(ADMIN_PREFIX)) return jsonAnswer(421, { error: message });
  return awsError('MisdirectedRequestException', message);
}

export function createEmulatorServer(deps: ServerDeps): Server {
  // The Date header is the emulator's clock: the SDKs correct their skew from it.
  const send = (res: ServerResponse, answer: Answer, close = false): void =>
    writeAnswer(res, { ...answer, headers: { ...answer.headers, date: deps.api.now().toUTCString() } }, { close });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    let body: Buffer | undefined;
    try {
      body = await readBody(req, MAX_BODY_BYTES);
    } catch {
      res.destroy();
      return;
    }
    if (body === undefined) {
      send(res, awsError('RequestEntityTooLargeException', 'Request body too large'), true);
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
      send(res, awsError('UnknownOperationException', `No operation at ${method} ${path}; the API is POST /.`, 404));
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
