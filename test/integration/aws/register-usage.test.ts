import { MarketplaceMeteringClient } from '@aws-sdk/client-marketplace-metering';
import { Agent } from 'node:http';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { describe, expect, it } from 'vitest';
import { registerWithRetry, type AttemptReport } from '../../../src/aws/register-usage.js';
import { OUTCOMES } from '../../../src/entitlement/outcomes.js';
import { faultServer, type Fault } from '../../helpers/fault-server.js';

function client(url: string) {
  return new MarketplaceMeteringClient({
    endpoint: url,
    region: 'us-east-1',
    maxAttempts: 1,
    credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' },
  });
}

async function register(script: Fault[], fallback: Fault, policy: { deadlineMs?: number; attemptTimeoutMs?: number } = {}) {
  const server = await faultServer(script, fallback);
  const attempts: AttemptReport[] = [];
  const result = await registerWithRetry(
    { productCode: 'prod-abc123', publicKeyVersion: 1 },
    {
      client: client(server.url),
      signal: new AbortController().signal,
      policy: { throttled: QUICK, transient: QUICK, attemptTimeoutMs: policy.attemptTimeoutMs ?? 2000, deadlineMs: policy.deadlineMs ?? 10_000 },
      onAttempt: (a) => attempts.push(a),
    },
  );
  return { result, attempts, requests: server.requests() };
}

const QUICK = { baseDelayMs: 5, maxDelayMs: 20, jitter: 'full' } as const;
const SLOW = { baseDelayMs: 60_000, maxDelayMs: 60_000, jitter: 'full' } as const;

const ok: Fault = { kind: 'raw', status: 200, body: JSON.stringify({ Signature: 'a.b.c' }) };

describe('registerWithRetry through the real SDK', () => {
  it.each([
    ['AccessDeniedException', 400, 'ACCESS_DENIED'],
    ['UnrecognizedClientException', 400, 'CREDENTIALS_REJECTED'],
    ['ExpiredTokenException', 400, 'CREDENTIALS_REJECTED'],
    ['InvalidSignatureException', 403, 'CREDENTIALS_REJECTED'],
    ['CustomerNotSubscribedException', 400, 'CUSTOMER_NOT_ENTITLED'],
    ['com.amazonaws.marketplacemetering#CustomerNotEntitledException', 400, 'CUSTOMER_NOT_ENTITLED'],
    ['ValidationException', 400, 'REQUEST_INVALID'],
    ['SomethingNewException', 400, 'UNEXPECTED_ERROR'],
  ])('treats %s (HTTP %i) as terminal %s after one request', async (type, status, code) => {
    const { result, requests } = await register([], { kind: 'error', status, type });
    expect(result).toMatchObject({ kind: 'failed', code, attempts: 1 });
    expect(requests).toBe(1);
  });

  it.each<[string, Fault]>([
    ['a qualified ThrottlingException', { kind: 'error', status: 400, type: 'com.amazonaws.marketplacemetering#ThrottlingException' }],
    ['a throttle named only in x-amzn-errortype', { kind: 'error', status: 400, type: 'ThrottlingException', inHeaderOnly: true }],
    ['a 500 InternalServiceErrorException', { kind: 'error', status: 500, type: 'InternalServiceErrorException' }],
    ['a 502 with an HTML body', { kind: 'raw', status: 502, body: '<html>Bad Gateway</html>', contentType: 'text/html' }],
    ['a 503 with no body', { kind: 'raw', status: 503, body: '' }],
    ['a connection reset', { kind: 'reset' }],
    ['a 200 with a truncated body', { kind: 'raw', status: 200, body: '{"Signature": "a.b' }],
    ['a 200 without a Signature', { kind: 'raw', status: 200, body: '{}' }],
  ])('retries %s and then succeeds', async (_name, fault) => {
    const { result, attempts, requests } = await register([fault, fault], ok);
    expect(result).toMatchObject({ kind: 'registered', signature: 'a.b.c', attempts: 3 });
    expect(requests).toBe(3);
    expect(attempts.slice(0, 2).every((a) => OUTCOMES[a.code].retryable && a.nextDelayMs !== undefined)).toBe(true);
  });

  it('times out an attempt that never gets an answer, and retries it', async () => {
    const { result, attempts } = await register([{ kind: 'hang' }], ok, { attemptTimeoutMs: 200 });
    expect(result).toMatchObject({ kind: 'registered', attempts: 2 });
    expect(attempts[0]).toMatchObject({ code: 'TIMEOUT' });
  });

  it('retries an unresolvable endpoint as a network error until the deadline', async () => {
    const attempts: AttemptReport[] = [];
    const result = await registerWithRetry(
      { productCode: 'p', publicKeyVersion: 1 },
      {
        // The agent's resolver answers ENOTFOUND itself, as a failing cluster DNS would, so no DNS query leaves the machine.
        client: new MarketplaceMeteringClient({
          endpoint: 'http://metering.marketplace.us-east-1.amazonaws.com',
          region: 'us-east-1',
          maxAttempts: 1,
          credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' },
          requestHandler: new NodeHttpHandler({
            httpAgent: new Agent({
              lookup: (hostname, _options, callback) =>
                callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), '', 4),
            }),
          }),
        }),
        signal: new AbortController().signal,
        policy: { throttled: QUICK, transient: QUICK, attemptTimeoutMs: 2000, deadlineMs: 300 },
        onAttempt: (a) => attempts.push(a),
      },
    );
    expect(result).toMatchObject({ kind: 'failed', code: 'DEADLINE_EXCEEDED' });
    expect(attempts[0]).toMatchObject({ code: 'NETWORK_ERROR', awsError: expect.stringMatching(/ENOTFOUND|EAI_AGAIN/) });
  });

  it('stops at once when aborted during backoff', async () => {
    const server = await faultServer([], { kind: 'error', status: 400, type: 'ThrottlingException' });
    const controller = new AbortController();
    // The backoff is a minute long: only the abort can end this call before the test's timeout.
    const result = await registerWithRetry(
      { productCode: 'p', publicKeyVersion: 1 },
      {
        client: client(server.url),
        signal: controller.signal,
        policy: { throttled: SLOW, transient: SLOW, attemptTimeoutMs: 2000, deadlineMs: 3_600_000 },
        random: () => 1,
        onAttempt: () => setImmediate(() => controller.abort()),
      },
    );
    expect(result).toEqual({ kind: 'aborted', attempts: 1 });
  });

  it('sends a fresh nonce with every attempt', async () => {
    const nonces: string[] = [];
    const { createServer } = await import('node:http');
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        nonces.push((JSON.parse(body) as { Nonce: string }).Nonce);
        res.writeHead(400, { 'content-type': 'application/x-amz-json-1.1' }).end('{"__type":"ThrottlingException"}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    await registerWithRetry(
      { productCode: 'p', publicKeyVersion: 1 },
      { client: client(`http://127.0.0.1:${port}`), signal: new AbortController().signal, policy: { throttled: QUICK, transient: QUICK, attemptTimeoutMs: 2000, deadlineMs: 200 } },
    );
    server.close();
    expect(nonces.length).toBeGreaterThan(2);
    expect(new Set(nonces).size).toBe(nonces.length);
    expect(nonces.every((n) => /^[A-Za-z0-9_-]{32}$/.test(n))).toBe(true);
  });
});
