import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach } from 'vitest';

/**
 * A loopback HTTP server that answers each request with the next scripted fault, for the answers
 * the emulator does not model: unmodelled AWS errors, resets, silence, garbled bodies.
 */
export type Fault =
  | { kind: 'error'; status: number; type: string; message?: string; inHeaderOnly?: boolean }
  | { kind: 'raw'; status: number; body: string; contentType?: string }
  | { kind: 'reset' }
  | { kind: 'hang' };

export async function faultServer(script: Fault[], fallback: Fault): Promise<{ url: string; requests: () => number }> {
  let count = 0;
  const sockets = new Set<Socket>();
  const answer = (req: IncomingMessage, res: ServerResponse) => {
    const fault = script[count] ?? fallback;
    count++;
    req.resume();
    req.on('end', () => {
      switch (fault.kind) {
        case 'error': {
          const headers: Record<string, string> = { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': `req-${count}` };
          if (fault.inHeaderOnly === true) {
            headers['x-amzn-errortype'] = fault.type;
            res.writeHead(fault.status, headers).end(JSON.stringify({ message: fault.message ?? 'fault' }));
          } else {
            res.writeHead(fault.status, headers).end(JSON.stringify({ __type: fault.type, message: fault.message ?? 'fault' }));
          }
          return;
        }
        case 'raw':
          res.writeHead(fault.status, { 'content-type': fault.contentType ?? 'application/x-amz-json-1.1' }).end(fault.body);
          return;
        case 'reset':
          req.socket.resetAndDestroy();
          return;
        case 'hang':
          return;
      }
    });
  };
  const server = createServer(answer);
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  afterEach(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests: () => count };
}
