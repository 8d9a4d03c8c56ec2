import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Metrics } from './lazy-metrics.js';
import { jsonAnswer, writeAnswer } from '../shared/http.js';
import type { EntitlementState } from './state.js';

/**
 * The local HTTP endpoints. Each answers one question: /healthz "is there a verified entitlement?",
 * /livez "is this process working?" (never "is AWS reachable?", or an AWS outage would become a
 * restart storm), /metrics for Prometheus. Probe hits are not logged.
 */
export const ENDPOINTS = ['/healthz', '/livez', '/metrics'] as const;

export interface ProbeServerDeps {
  readonly state: EntitlementState;
  /** /metrics loads them if nothing has yet. */
  readonly metrics: Metrics;
  readonly logger: Logger;
}

export function createProbeServer(deps: ProbeServerDeps): Server {
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    const head = req.method === 'HEAD';
    if (req.method !== 'GET' && !head) {
      writeAnswer(res, jsonAnswer(405, { error: 'method not allowed' }, { allow: 'GET, HEAD' }));
      return;
    }
    switch (path) {
      case '/healthz': {
        const snapshot = deps.state.current;
        writeAnswer(res, jsonAnswer(snapshot.status === 'entitled' ? 200 : 503, snapshot), { head });
        return;
      }
      case '/livez':
        writeAnswer(res, jsonAnswer(200, { status: 'ok' }), { head });
        return;
      case '/metrics':
        const { registry } = await deps.metrics.load();
        writeAnswer(res, { status: 200, headers: { 'content-type': registry.contentType, 'cache-control': 'no-store' }, body: await registry.metrics() }, { head });
        return;
      default:
        writeAnswer(res, jsonAnswer(404, { error: 'not found', endpoints: ENDPOINTS }), { head });
    }
  };
  return createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      deps.logger.error({ err }, 'http handler failed');
      if (!res.headersSent) writeAnswer(res, jsonAnswer(500, { error: 'internal error' }));
      else res.destroy();
    });
  });
}

