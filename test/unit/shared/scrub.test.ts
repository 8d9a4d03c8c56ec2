import { describe, expect, it } from 'vitest';
import { REDACTED, scrubSecrets, serializeError } from '../../../src/shared/scrub.js';

const SESSION_TOKEN =
  'IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQDexampleexampleexampleexampleAiB4b2tlbnRva2VudG9rZW50b2tlbnRva2VuKq0DCNP//////////wEQABoMMTExMTIyMjIzMzMz';
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const AKID = 'ASIAIOSFODNN7EXAMPLE';

/** What AWS really answers to a wrong secret key: the canonical request, session token included. */
const INVALID_SIGNATURE =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.\n\n' +
  "The Canonical String for this request should have been\n'POST\n/\n\ncontent-type:application/x-amz-json-1.1\nhost:metering.marketplace.us-east-1.amazonaws.com\n" +
  `x-amz-date:20261201T000000Z\nx-amz-security-token:${SESSION_TOKEN}\nx-amz-target:AWSMPMeteringService.RegisterUsage\n\n` +
  "content-type;host;x-amz-date;x-amz-security-token;x-amz-target\n0123abcd'\n\n" +
  `The String-to-Sign should have been\n'AWS4-HMAC-SHA256\n20261201T000000Z\n20261201/us-east-1/aws-marketplace/aws4_request\nabcdef'\n`;

describe('scrubbing what AWS says before anyone sees it', () => {
  it('cuts the canonical request and string-to-sign out of InvalidSignatureException, keeping the explanation', () => {
    const out = scrubSecrets(INVALID_SIGNATURE);
    expect(out).not.toContain(SESSION_TOKEN);
    expect(out).not.toContain('x-amz-security-token:');
    expect(out).toMatch(/^The request signature we calculated does not match/);
    expect(out).toContain(REDACTED);
  });

  it.each([
    ['a header line', `x-amz-security-token:${SESSION_TOKEN}`],
    ['a query parameter', `?X-Amz-Security-Token=${encodeURIComponent(SESSION_TOKEN)}&X-Amz-Date=1`],
    ['an Authorization header', `Authorization: AWS4-HMAC-SHA256 Credential=${AKID}/20261201/us-east-1/aws-marketplace/aws4_request, SignedHeaders=host, Signature=${'ab'.repeat(32)}`],
    ['a bare access key id and secret', `key ${AKID} secret ${SECRET}`],
    ['a JSON body', `{"AccessKeyId":"${AKID}","SecretAccessKey":"${SECRET}","SessionToken":"${SESSION_TOKEN}"}`],
    ['a JWT', 'token eyJhbGciOiJQUzI1NiJ9.eyJwcm9kdWN0Q29kZSI6InAifQ.c2lnbmF0dXJlc2lnbmF0dXJl'],
  ])('removes credentials from %s', (_what, text) => {
    const out = scrubSecrets(text);
    for (const secret of [SESSION_TOKEN, encodeURIComponent(SESSION_TOKEN), SECRET, AKID, 'ab'.repeat(32), 'c2lnbmF0dXJlc2lnbmF0dXJl']) {
      expect(out).not.toContain(secret);
    }
    expect(out).toContain(REDACTED);
  });

  it('leaves ordinary messages alone: product codes, request ids, regions, ARNs', () => {
    const text = 'CustomerNotEntitledException: prod-abc123 in us-east-1 (request id 5d0f8c2e-7b1a-4c1e-9a5e-0d6f1e2a3b4c) arn:aws:iam::111122223333:role/paid-app';
    expect(scrubSecrets(text)).toBe(text);
  });

  it('bounds the length of a message', () => {
    const out = scrubSecrets('word '.repeat(1000));
    expect(out.length).toBeLessThan(700);
    expect(out).toMatch(/more characters left out\)$/);
  });

  it('serializes an SDK error for the log without $response and with a scrubbed message and stack', () => {
    const err = Object.assign(new Error(INVALID_SIGNATURE), {
      name: 'InvalidSignatureException',
      $metadata: { httpStatusCode: 403, requestId: 'req-1' },
      $response: { body: `x-amz-security-token:${SESSION_TOKEN}` },
      cause: new Error(`inner ${SECRET}`),
    });
    const out = serializeError(err) as Record<string, unknown>;
    const text = JSON.stringify(out);
    expect(text).not.toContain(SESSION_TOKEN);
    expect(text).not.toContain(SECRET);
    expect(out).toMatchObject({ name: 'InvalidSignatureException', httpStatusCode: 403, requestId: 'req-1' });
    expect(out).not.toHaveProperty('$response');
    expect((out.cause as Record<string, unknown>).message).toContain(REDACTED);
  });
});
