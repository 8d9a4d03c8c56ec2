import { createConnection, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterEach } from 'vitest';

/**
 * A TCP proxy on a fixed loopback port in front of a server, that a test takes down (connections
 * refused, open ones reset, as when AWS is unreachable) and brings up again on the same port, while
 * the server behind it keeps its state.
 */
export interface SwitchableProxy {
  readonly url: string;
  down(): Promise<void>;
  up(): Promise<void>;
}

export async function switchableProxy(target: string): Promise<SwitchableProxy> {
  const { hostname, port: targetPort } = new URL(target);
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const s = createServer((client) => {
        const upstream = createConnection({ host: hostname, port: Number(targetPort) });
        for (const sock of [client, upstream]) {
          sockets.add(sock);
          sock.on('close', () => sockets.delete(sock));
          sock.on('error', () => undefined);
        }
        client.pipe(upstream).pipe(client);
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
      });
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => {
        port = (s.address() as AddressInfo).port;
        server = s;
        resolve();
      });
    });
  const down = async () => {
    const s = server;
    server = undefined;
    for (const sock of sockets) sock.resetAndDestroy();
    if (s !== undefined) await new Promise<void>((resolve) => s.close(() => resolve()));
  };
  await listen();
  afterEach(down);
  return {
    url: `http://127.0.0.1:${port}`,
    down,
    async up() {
      if (server === undefined) await listen();
    },
  };
}
