/**
 * The HTTP layer: reads bodies (bounded), routes `POST /` to the Metering API pipeline and
 * `/_emulator/*` to the admin surface, and writes answers with a Date header from the emulator's
 * clock (the SDKs correct their clock skew from it, so it must agree with the signature check).
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { ADMIN_PREFIX, handleAdmin } from './admin.js';
import type { AdminDeps } from './admin.js';
import { handleApiCall } from './api.js';
import type { ApiDeps } from './operations.js';

/** Far above any Metering request (BatchMeterUsage's 25 records included). */
const MAX_BODY_BYTES = 1024 * 1024;

interface Answer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

class BodyTooLarge extends Error {}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        req.removeAllListeners('data');
        req.resume();
        reject(new BodyTooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

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
  readonly logger: Logger;
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
    let body: Buffer;
    try {
      body = await readBody(req);
    } catch (err) {
      if (err instanceof BodyTooLarge) send(res, awsError(413, 'RequestEntityTooLargeException', 'Request body too large'), true);
      else res.destroy();
      return;
    }
    const url = req.url ?? '/';
    const path = url.split('?')[0] ?? '/';
    const method = req.method ?? 'GET';
    if (path.startsWith(ADMIN_PREFIX)) {
      send(res, handleAdmin(method, path, body, deps.admin));
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
