import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveRegion } from '../../../src/aws/region.js';

interface Seen {
  method: string | undefined;
  url: string | undefined;
  headers: IncomingMessage['headers'];
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => { s.closeAllConnections(); s.close(r); })));
});

/** A loopback stand-in for ECS task metadata or IMDS, recording what it was asked. */
async function metadataServer(answer: (req: IncomingMessage) => { status: number; body: string } | 'hang'): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    seen.push({ method: req.method, url: req.url, headers: req.headers });
    const a = answer(req);
    if (a === 'hang') return;
    res.writeHead(a.status).end(a.body);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

const noImds = { AWS_EC2_METADATA_DISABLED: 'true' };

describe('resolveRegion', () => {
  it('takes AWS_REGION first, then AWS_DEFAULT_REGION', async () => {
    expect(await resolveRegion({ env: { AWS_REGION: 'eu-west-1', AWS_DEFAULT_REGION: 'us-west-2' } })).toEqual({ region: 'eu-west-1', source: 'AWS_REGION' });
    expect(await resolveRegion({ env: { AWS_DEFAULT_REGION: 'us-gov-west-1' } })).toEqual({ region: 'us-gov-west-1', source: 'AWS_DEFAULT_REGION' });
  });

  it('refuses a malformed AWS_REGION rather than calling the wrong endpoint', async () => {
    await expect(resolveRegion({ env: { AWS_REGION: 'Europe' } })).rejects.toThrow('AWS_REGION "Europe" is not an AWS region name');
  });

  it('reads the region from the ECS task metadata v4 task ARN', async () => {
    const ecs = await metadataServer(() => ({
      status: 200,
      body: JSON.stringify({ TaskARN: 'arn:aws:ecs:ap-southeast-2:111122223333:task/c/abc', AvailabilityZone: 'ap-southeast-2b' }),
    }));
    expect(await resolveRegion({ env: { ECS_CONTAINER_METADATA_URI_V4: `${ecs.url}/v4/abc`, ...noImds } })).toEqual({
      region: 'ap-southeast-2',
      source: 'ecs-task-metadata',
    });
    expect(ecs.seen[0]?.url).toBe('/v4/abc/task');
  });

  it('falls back to the availability zone, local zones included', async () => {
    const ecs = await metadataServer(() => ({ status: 200, body: JSON.stringify({ AvailabilityZone: 'us-west-2-lax-1a' }) }));
    expect((await resolveRegion({ env: { ECS_CONTAINER_METADATA_URI_V4: ecs.url, ...noImds } })).region).toBe('us-west-2');
  });

  it('asks IMDSv2 with a session token', async () => {
    const imds = await metadataServer((req) =>
      req.method === 'PUT' ? { status: 200, body: 'tok-123' } : { status: req.headers['x-aws-ec2-metadata-token'] === 'tok-123' ? 200 : 401, body: 'sa-east-1' },
    );
    expect(await resolveRegion({ env: { AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url } })).toEqual({ region: 'sa-east-1', source: 'imds' });
    expect(imds.seen.map((s) => `${s.method} ${s.url}`)).toEqual(['PUT /latest/api/token', 'GET /latest/meta-data/placement/region']);
    expect(imds.seen[0]?.headers['x-aws-ec2-metadata-token-ttl-seconds']).toBe('60');
  });

  it('gives a clear error naming every source when none answers, without waiting long for a silent IMDS', async () => {
    const ecs = await metadataServer(() => ({ status: 500, body: 'oops' }));
    const imds = await metadataServer(() => 'hang');
    const err = await resolveRegion({
      env: { ECS_CONTAINER_METADATA_URI_V4: ecs.url, AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url },
      timeoutMs: 200,
    }).catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/AWS_REGION and AWS_DEFAULT_REGION are unset; ECS task metadata .* answered HTTP 500; IMDS .*/);
  });

  it('does not touch IMDS when AWS_EC2_METADATA_DISABLED is true', async () => {
    await expect(resolveRegion({ env: noImds })).rejects.toThrow('IMDS: disabled by AWS_EC2_METADATA_DISABLED');
  });
});
