import { createHash } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MeterUsageCommand } from '@aws-sdk/client-marketplace-metering';
import { verifySigV4 } from '../../../src/emulator/sigv4.js';
import type { WireRequest } from '../../../src/emulator/sigv4.js';
import { CRED, manualClock, meteringClient, PRODUCT, QUIET, rawRequest, register, rejection, signedRequest, startTestEmulator } from '../../helpers/emulator-requests.js';
import type { TestEmulator } from '../../helpers/emulator-requests.js';

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

describe('the SigV4 verifier against AWS\'s published test-suite vectors', () => {
  const suite = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', accountId: '123456789012' };
  const opts = { service: 'service', region: 'us-east-1', now: new Date('2015-08-30T12:36:00Z'), lookup: (id: string) => (id === suite.accessKeyId ? suite : undefined) };
  const vector = (method: string, url: string, sig: string): WireRequest => ({
    method,
    url,
    body: Buffer.alloc(0),
    headers: {
      host: ['example.amazonaws.com'],
      'x-amz-date': ['20150830T123600Z'],
      authorization: [`AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=${sig}`],
    },
  });

  it.each([
    ['get-vanilla', 'GET', '/', '5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31'],
    ['post-vanilla', 'POST', '/', '5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b'],
    ['get-vanilla-query-order-key-case', 'GET', '/?Param2=value2&Param1=value1', 'b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500'],
  ])('accepts %s', (_name, method, url, sig) => {
    expect(verifySigV4(vector(method, url, sig), opts).credential.accessKeyId).toBe('AKIDEXAMPLE');
  });

  it('rejects the get-vanilla signature on a request with another path', () => {
    expect(() => verifySigV4(vector('GET', '/other', '5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31'), opts)).toThrow(
      /signature we calculated does not match/,
    );
  });
});

describe('SigV4 failures as AWS answers them', () => {
  const clock = manualClock(QUIET);
  let emulator: TestEmulator;
  beforeAll(async () => {
    emulator = await startTestEmulator({ clock, scenario: { rateLimit: null } });
  });
  afterAll(() => emulator.close());
  beforeEach(() => {
    emulator.reset();
    clock.set(QUIET);
  });

  it('wrong secret key: 403 InvalidSignatureException', async () => {
    const err = await rejection(register(meteringClient(emulator, { secretAccessKey: 'not-the-secret' })));
    expect(err.name).toBe('InvalidSignatureException');
    expect(err.$metadata?.httpStatusCode).toBe(403);
    expect(err.message).toMatch(/^The request signature we calculated does not match the signature you provided/);
  });

  it('unknown access key: UnrecognizedClientException', async () => {
    const err = await rejection(register(meteringClient(emulator, { accessKeyId: 'AKIAUNKNOWN000000000' })));
    expect(err.name).toBe('UnrecognizedClientException');
    expect(err.message).toBe('The security token included in the request is invalid.');
  });

  it('signed for another region: InvalidRegionException', async () => {
    expect((await rejection(register(meteringClient(emulator, { region: 'eu-west-1' })))).name).toBe('InvalidRegionException');
  });

  it('client clock 10 minutes behind: "Signature expired"; 10 minutes ahead: "Signature not yet current"; 5 minutes either way is accepted', async () => {
    // The client's own clock stays at QUIET (12:15:00) while the emulator's moves.
    const client = () => meteringClient(emulator, { clock: manualClock(QUIET) });
    clock.set('2027-06-15T12:25:00Z');
    const behind = await rejection(register(client()));
    expect(behind.name).toBe('InvalidSignatureException');
    expect(behind.$metadata?.httpStatusCode).toBe(403);
    expect(behind.message).toBe('Signature expired: 20270615T121500Z is now earlier than 20270615T122000Z (20270615T122500Z - 5 min.)');
    clock.set('2027-06-15T12:05:00Z');
    const ahead = await rejection(register(client()));
    expect(ahead.message).toBe('Signature not yet current: 20270615T121500Z is still later than 20270615T121000Z (20270615T120500Z + 5 min.)');
    for (const at of ['2027-06-15T12:20:00Z', '2027-06-15T12:10:00Z']) {
      clock.set(at);
      expect((await register(client())).Signature, at).toBeTruthy();
    }
    clock.set('2027-06-15T12:20:01Z');
    expect((await rejection(register(client()))).message).toMatch(/^Signature expired: /);
  });

  it('missing Authorization: 403 MissingAuthenticationTokenException with AWS JSON error headers', async () => {
    const res = await rawRequest(emulator.url, {
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'AWSMPMeteringService.RegisterUsage' },
      body: JSON.stringify({ ProductCode: PRODUCT, PublicKeyVersion: 1 }),
    });
    expect(res.status).toBe(403);
    expect(res.json()).toEqual({ __type: 'MissingAuthenticationTokenException', message: 'Request is missing Authentication Token' });
    expect(res.headers['x-amzn-errortype']).toBe('MissingAuthenticationTokenException');
    expect(res.headers['x-amzn-requestid']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(res.headers['content-type']).toBe('application/x-amz-json-1.1');
  });

  it('signed for another service: InvalidSignatureException naming the credential scope', async () => {
    const res = await signedRequest(emulator, { service: 'execute-api', body: JSON.stringify({ ProductCode: PRODUCT, PublicKeyVersion: 1 }) });
    expect(res.status).toBe(403);
    expect(res.json()).toEqual({ __type: 'InvalidSignatureException', message: "Credential should be scoped to correct service: 'aws-marketplace'. " });
  });

  it('a body changed after signing does not verify', async () => {
    const res = await signedRequest(emulator, {
      body: JSON.stringify({ ProductCode: PRODUCT, PublicKeyVersion: 1 }),
      sendBody: JSON.stringify({ ProductCode: 'prod-swapped', PublicKeyVersion: 1 }),
    });
    expect(res.json()['__type']).toBe('InvalidSignatureException');
  });

  it('x-amz-content-sha256: UNSIGNED-PAYLOAD is refused, so a body replaced after signing mints no token for another product', async () => {
    const signedFor = JSON.stringify({ ProductCode: PRODUCT, PublicKeyVersion: 1, Nonce: 'n-1' });
    const replaced = JSON.stringify({ ProductCode: 'prod-someone-elses', PublicKeyVersion: 1, Nonce: 'n-1' });
    for (const sendBody of [signedFor, replaced]) {
      // The SDK's signer uses a declared x-amz-content-sha256 as the payload hash, as AWS's signers do.
      const res = await signedRequest(emulator, { body: signedFor, headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' }, sendBody });
      expect(res.status).toBe(403);
      expect(res.json()).toEqual({
        __type: 'InvalidSignatureException',
        message: `The provided 'x-amz-content-sha256' header does not match what was computed. This service signs the payload: the header may only carry the lowercase hex SHA-256 of the body (${sha256(sendBody)}), got 'UNSIGNED-PAYLOAD'.`,
      });
    }
    expect(emulator.calls().map((c) => [c.productCode, c.outcome])).toEqual([
      [PRODUCT, 'InvalidSignatureException'],
      ['prod-someone-elses', 'InvalidSignatureException'],
    ]);
  });

  it('the payload hash is always the body\'s: any other x-amz-content-sha256 is refused, however it was signed', async () => {
    const body = JSON.stringify({ ProductCode: PRODUCT, PublicKeyVersion: 1 });
    for (const declared of ['STREAMING-UNSIGNED-PAYLOAD-TRAILER', 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD', sha256('{}'), sha256(body).toUpperCase(), '']) {
      const res = await signedRequest(emulator, { body, headers: { 'x-amz-content-sha256': declared } });
      expect(res.status, declared).toBe(403);
      expect(res.json()['message']).toContain(`got '${declared}'`);
    }
    // The same request with the body's own hash, as the SDK sends it.
    expect((await signedRequest(emulator, { body, headers: { 'x-amz-content-sha256': sha256(body) } })).status).toBe(200);
    expect((await signedRequest(emulator, { body })).status).toBe(200);
  });

  describe('every header that decides who calls or what is called must be signed', () => {
    const body = JSON.stringify({ ProductCode: PRODUCT, PublicKeyVersion: 1, Nonce: 'n-2' });

    it.each(['x-amz-security-token', 'x-amz-target', 'content-type', 'x-amz-date', 'x-amz-content-sha256', 'x-amz-user-agent'])(
      '%s present but not signed: 403 InvalidSignatureException naming it',
      async (header) => {
        const res = await signedRequest(emulator, { body, sessionToken: 'session-of-pod-a', headers: { 'x-amz-user-agent': 'aws-sdk-js/3' }, unsigned: [header] });
        expect(res.status).toBe(403);
        expect(res.json()).toEqual({ __type: 'InvalidSignatureException', message: `There were headers present in the request which were not signed: ${header}.` });
        expect(emulator.state().knownCallers).toBe(0);
      },
    );

    it('an unsigned session token cannot be swapped to become another caller', async () => {
      emulator.setScenario({ mode: 'not-entitled' });
      try {
        // Pod A's first call is denied; a replay of a signed call with pod B's token would be a "first call" of B.
        const forged = await signedRequest(emulator, {
          body,
          sessionToken: 'session-of-pod-a',
          unsigned: ['x-amz-security-token'],
          sendHeaders: { 'x-amz-security-token': 'session-of-pod-b' },
        });
        expect(forged.json()['__type']).toBe('InvalidSignatureException');
        expect(emulator.state().knownCallers).toBe(0);
        // Signed, the token is the caller: A is denied once, then admitted.
        expect((await signedRequest(emulator, { body, sessionToken: 'session-of-pod-a' })).json()['__type']).toBe('CustomerNotEntitledException');
        expect((await signedRequest(emulator, { body, sessionToken: 'session-of-pod-a' })).status).toBe(200);
        // Changing a signed token breaks the signature.
        const swapped = await signedRequest(emulator, { body, sessionToken: 'session-of-pod-a', sendHeaders: { 'x-amz-security-token': 'session-of-pod-b' } });
        expect(swapped.json()['message']).toMatch(/^The request signature we calculated does not match/);
        expect(emulator.state().knownCallers).toBe(1);
      } finally {
        emulator.setScenario({ mode: 'entitled' });
      }
    });

    it('Host not signed: 403 InvalidSignatureException, as AWS answers it', async () => {
      const res = await signedRequest(emulator, { body, unsigned: ['host'] });
      expect(res.status).toBe(403);
      expect(res.json()).toEqual({ __type: 'InvalidSignatureException', message: "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization." });
    });

    it.each([
      ['x-amz-target', ['AWSMPMeteringService.RegisterUsage', 'AWSMPMeteringService.MeterUsage']],
      ['x-amz-security-token', ['session-of-pod-a', 'session-of-pod-b']],
      ['content-type', ['application/x-amz-json-1.1', 'application/x-amz-json-1.1']],
    ])('%s more than once is refused, whatever was signed', async (header, values) => {
      const res = await signedRequest(emulator, { body, sessionToken: 'session-of-pod-a', sendHeaders: { [header]: values } });
      expect(res.status).toBe(403);
      expect(res.json()).toEqual({ __type: 'InvalidSignatureException', message: `The request has 2 '${header}' headers; it must have at most one.` });
    });

    it('headers that change nothing may stay unsigned or change after signing (user-agent, amz-sdk-*, trace ids)', async () => {
      const res = await signedRequest(emulator, {
        body,
        headers: { 'user-agent': 'signed-agent', 'amz-sdk-invocation-id': 'x' },
        unsigned: ['user-agent', 'amz-sdk-invocation-id'],
        sendHeaders: { 'user-agent': 'another-agent', 'amz-sdk-request': 'attempt=1; max=1', 'x-amzn-trace-id': 'Root=1-00000000-000000000000000000000000' },
      });
      expect(res.status).toBe(200);
    });
  });

  it('a correctly signed raw request succeeds, with a request id on success too', async () => {
    const res = await signedRequest(emulator, { body: JSON.stringify({ ProductCode: PRODUCT, PublicKeyVersion: 1, Nonce: 'raw' }) });
    expect(res.status).toBe(200);
    expect(Object.keys(res.json())).toEqual(['Signature']);
    expect(res.headers['x-amzn-requestid']).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.headers['x-amzn-errortype']).toBeUndefined();
    expect(new Date(String(res.headers['date'])).getTime()).toBe(Math.floor(clock.now().getTime() / 1000) * 1000);
  });
});

describe('operation dispatch', () => {
  let emulator: TestEmulator;
  beforeAll(async () => {
    emulator = await startTestEmulator();
  });
  afterAll(() => emulator.close());

  it('answers UnknownOperationException for an unknown target', async () => {
    const res = await signedRequest(emulator, { target: 'AWSMPMeteringService.StealTokens', body: '{}' });
    expect(res.status).toBe(400);
    expect(res.json()['__type']).toBe('UnknownOperationException');
  });

  it('answers UnknownOperationException for a content type other than AWS JSON 1.1', async () => {
    const res = await signedRequest(emulator, { contentType: 'application/json', body: JSON.stringify({ ProductCode: PRODUCT, PublicKeyVersion: 1 }) });
    expect(res.json()['__type']).toBe('UnknownOperationException');
  });

  it('counts calls under their operation name, and targets it does not know under "unknown"', async () => {
    emulator.reset();
    const client = meteringClient(emulator);
    await client.send(new MeterUsageCommand({ ProductCode: PRODUCT, Timestamp: emulator.clock.now(), UsageDimension: 'd', DryRun: true }));
    await signedRequest(emulator, { target: 'AWSMPMeteringService.StealTokens', body: '{}' });
    expect(emulator.state().counts).toEqual({ MeterUsage: { success: 1 }, unknown: { UnknownOperationException: 1 } });
  });

  it('answers 404 UnknownOperationException for other paths and methods', async () => {
    const res = await rawRequest(emulator.url, { method: 'GET', path: '/' });
    expect(res.status).toBe(404);
    expect(res.json()['__type']).toBe('UnknownOperationException');
  });

  it('accepts session credentials signed by the SDK (x-amz-security-token)', async () => {
    expect((await register(meteringClient(emulator, { sessionToken: 'IQoJb3JpZ2luX2VjEXAMPLE' }))).Signature).toBeTruthy();
    // The SDK signs more than botocore does, including its declared payload hash and content-length.
    expect(emulator.calls().at(-1)?.signedHeaders).toEqual(
      expect.arrayContaining(['content-length', 'content-type', 'host', 'x-amz-content-sha256', 'x-amz-date', 'x-amz-security-token', 'x-amz-target']),
    );
    expect(emulator.calls().at(-1)?.caller).toBe(CRED.accessKeyId);
  });
});
