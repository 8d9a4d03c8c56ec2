import { execFileSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer, type Server } from 'node:https';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll } from 'vitest';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { SERVICE_ACCOUNT_DIR } from '../../src/k8s/constants.js';
import { createLogger } from '../../src/shared/logger.js';

/**
 * A stand-in for the few Kubernetes API paths the sidecar uses, over real TLS on 127.0.0.1 with a
 * throwaway CA made by openssl, plus the service-account directory a pod would have. No Kubernetes API
 * server can run on these machines: this proves what the real @kubernetes/client-node sends, not what a
 * real API server would accept.
 */

export interface Pki {
  readonly dir: string;
  readonly caCert: string;
  readonly serverKey: string;
  readonly serverCert: string;
  remove(): void;
}

/** A CA and a server certificate for IP 127.0.0.1 signed by it (EC P-256: fast to make). */
export function makePki(): Pki {
  const dir = mkdtempSync(join(tmpdir(), 'k8s-pki-'));
  const p = (name: string) => join(dir, name);
  const ssl = (...args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  ssl('req', '-x509', ...ec, '-keyout', p('ca.key'), '-out', p('ca.crt'), '-days', '2', '-subj', '/CN=k8s-test-ca',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  ssl('req', ...ec, '-keyout', p('server.key'), '-out', p('server.csr'), '-subj', '/CN=kube-apiserver');
  writeFileSync(p('ext.cnf'), 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n');
  ssl('x509', '-req', '-in', p('server.csr'), '-CA', p('ca.crt'), '-CAkey', p('ca.key'), '-CAcreateserial', '-out', p('server.crt'), '-days', '2', '-extfile', p('ext.cnf'));
  return {
    dir,
    caCert: readFileSync(p('ca.crt'), 'utf8'),
    serverKey: readFileSync(p('server.key'), 'utf8'),
    serverCert: readFileSync(p('server.crt'), 'utf8'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export const SA_TOKEN = 'eyJhbGciOiJSUzI1NiJ9.test-service-account-token.sig';

/** `<root>/var/run/secrets/kubernetes.io/serviceaccount/{token,ca.crt,namespace}`; returns the prefix for loadFromCluster. */
/**
 * A throwaway CA and a service-account directory for the whole test file (made before its tests,
 * removed after): read `.pki` and `.saRoot` inside tests.
 */
export function clusterFixture(): { readonly pki: Pki; readonly saRoot: string } {
  const fixture = {} as { pki: Pki; saRoot: string };
  beforeAll(() => {
    fixture.pki = makePki();
    fixture.saRoot = serviceAccountDir(mkdtempSync(join(tmpdir(), 'k8s-sa-')), fixture.pki);
  });
  afterAll(() => {
    fixture.pki.remove();
    rmSync(fixture.saRoot, { recursive: true, force: true });
  });
  return fixture;
}

export function serviceAccountDir(root: string, pki: Pick<Pki, 'caCert'>, o: { token?: string; namespace?: string } = {}): string {
  const dir = join(root, SERVICE_ACCOUNT_DIR);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'token'), o.token ?? SA_TOKEN);
  writeFileSync(join(dir, 'ca.crt'), pki.caCert);
  writeFileSync(join(dir, 'namespace'), o.namespace ?? 'shop');
  return root;
}

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly contentType: string | undefined;
  readonly authorization: string | undefined;
  readonly body: unknown;
}

/**
 * ok: 201 for events (echo), 200 for pod status; forbidden: 403 with a Status object as the API server
 * sends it; silent: reads the request and never answers; error: 500.
 */
export type ApiMode = 'ok' | 'forbidden' | 'silent' | 'error';

export interface FakeApiServer {
  readonly port: number;
  readonly requests: RecordedRequest[];
  mode: ApiMode;
  /** Resolves once `n` requests have been received in full; rejects after `timeoutMs`. */
  waitForRequests(n: number, timeoutMs?: number): Promise<RecordedRequest[]>;
  /** Open TCP connections: 0 once clients have given up on a silent server and closed their sockets. */
  connections(): Promise<number>;
  close(): Promise<void>;
}

export async function startFakeApiServer(pki: Pki, mode: ApiMode = 'ok'): Promise<FakeApiServer> {
  const requests: RecordedRequest[] = [];
  const arrivals = new EventEmitter();
  const state = { mode };
  const server: Server = createHttpsServer({ key: pki.serverKey, cert: pki.serverCert }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown = text;
      try {
        body = text === '' ? undefined : JSON.parse(text);
      } catch {
        // kept as text: an assertion on it will say what arrived
      }
      requests.push({ method: req.method ?? '', path: req.url ?? '', contentType: req.headers['content-type'], authorization: req.headers.authorization, body });
      arrivals.emit('request');
      answer(state.mode, req.method ?? '', req.url ?? '', body, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    get mode() {
      return state.mode;
    },
    set mode(m: ApiMode) {
      state.mode = m;
    },
    waitForRequests(n, timeoutMs = 5_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (requests.length < n) return;
          cleanup();
          resolve(requests.slice(0, n));
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`expected ${n} requests within ${timeoutMs} ms, got ${requests.length}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          arrivals.off('request', check);
        };
        arrivals.on('request', check);
        check();
      });
    },
    connections: () => new Promise((resolve, reject) => server.getConnections((err, n) => (err ? reject(err) : resolve(n)))),
    close: () =>
      new Promise<void>((resolve) => {
        // Silent mode leaves requests open: cut them so close() returns.
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function answer(mode: ApiMode, method: string, path: string, body: unknown, res: import('node:http').ServerResponse): void {
  if (mode === 'silent') return;
  const json = (status: number, obj: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(obj));
  };
  const events = /^\/api\/v1\/namespaces\/([^/]+)\/events(\?.*)?$/.exec(path);
  const podStatus = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/status(\?.*)?$/.exec(path);
  const resource = events ? 'events' : 'pods/status';
  if (mode === 'forbidden') {
    const ns = (events ?? podStatus)?.[1] ?? 'default';
    const verb = method === 'POST' ? 'create' : 'patch';
    return json(403, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: `${resource} is forbidden: User "system:serviceaccount:${ns}:paid-app" cannot ${verb} resource "${resource}" in API group "" in the namespace "${ns}"`,
      reason: 'Forbidden',
      details: { kind: resource },
      code: 403,
    });
  }
  if (mode === 'error') return json(500, { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'etcdserver: request timed out', reason: 'InternalError', code: 500 });
  if (method === 'POST' && events) return json(201, body);
  if (method === 'PATCH' && podStatus) {
    return json(200, { kind: 'Pod', apiVersion: 'v1', metadata: { name: podStatus[2], namespace: podStatus[1] }, status: (body as { status?: unknown }).status });
  }
  return json(404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: `no route for ${method} ${path}`, reason: 'NotFound', code: 404 });
}

/** A loopback port with nothing listening on it: bound, then released. */
export async function unusedPort(): Promise<number> {
  const srv = createNetServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

export type LogLine = Record<string, unknown> & { level: string; msg: string; module?: string };

/** The sidecar's own pino logger writing JSON lines into memory: tests read what an operator would read. */
export function capturedLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString('utf8').split('\n')) if (l.trim() !== '') lines.push(JSON.parse(l) as LogLine);
      done();
    },
  });
  return { logger: createLogger('debug', stream), lines };
}

/** What the downward API and the kubelet put in a pod's environment, pointing at the fake server. */
export function podEnv(port: number, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    KUBERNETES_SERVICE_HOST: '127.0.0.1',
    KUBERNETES_SERVICE_PORT: String(port),
    POD_NAME: POD.name,
    POD_NAMESPACE: POD.namespace,
    POD_UID: POD.uid,
    ...extra,
  };
}

export const POD = { name: 'paid-app-7c9d8-x2kqv', namespace: 'shop', uid: '5f0c1a4e-2b7d-4c1e-9a55-0d6f3e8b9c21' } as const;

/** A clock the test moves by hand: rate limits and timestamps without waiting. */
export function manualClock(start = '2026-11-23T00:00:00.000Z'): { now: () => Date; advance: (ms: number) => void; iso: (offsetMs?: number) => string } {
  const t0 = Date.parse(start);
  let t = t0;
  return {
    now: () => new Date(t),
    advance: (ms) => {
      t += ms;
    },
    iso: (offsetMs = 0) => new Date(t0 + offsetMs).toISOString().replace('.000Z', 'Z'),
  };
}

/** The value of one labelled series in a registry. */
export async function value(registry: Registry, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const metric = await registry.getSingleMetric(name)?.get();
  return metric?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value;
}

/** Polls `check` every 10 ms until it holds; fails after `timeoutMs`. */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
