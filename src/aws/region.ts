/**
 * The region the task or pod runs in, found at run time. AWS answers InvalidRegionException when
 * RegisterUsage is called in another region, so there is deliberately no default.
 */

export const REGION_PATTERN = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;

export type RegionSource = 'AWS_REGION' | 'AWS_DEFAULT_REGION' | 'ecs-task-metadata' | 'imds';

export interface ResolvedRegion {
  readonly region: string;
  readonly source: RegionSource;
}

export class RegionError extends Error {
  override readonly name = 'RegionError';
}

export interface RegionDeps {
  readonly env: NodeJS.ProcessEnv;
  /** Per metadata request; IMDS behind a hop limit of 1 never answers a pod, so this must be short. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

const DEFAULT_IMDS_ENDPOINT = 'http://169.254.169.254';

async function fetchWithTimeout(url: string, init: RequestInit, deps: RegionDeps): Promise<Response> {
  const timeout = AbortSignal.timeout(deps.timeoutMs ?? 1000);
  const signal = deps.signal === undefined ? timeout : AbortSignal.any([timeout, deps.signal]);
  const res = await fetch(url, { ...init, signal });
  if (!res.ok) throw new RegionError(`${url} answered HTTP ${res.status}`);
  return res;
}

/** From ECS task metadata v4: the region field of the task ARN, else the availability zone's region. */
async function fromEcsTaskMetadata(base: string, deps: RegionDeps): Promise<string> {
  const res = await fetchWithTimeout(`${base.replace(/\/$/, '')}/task`, {}, deps);
  const task = (await res.json()) as { TaskARN?: unknown; AvailabilityZone?: unknown };
  if (typeof task.TaskARN === 'string') {
    const region = task.TaskARN.split(':')[3];
    if (region !== undefined && REGION_PATTERN.test(region)) return region;
  }
  if (typeof task.AvailabilityZone === 'string') {
    // us-east-1a -> us-east-1; local zones such as us-west-2-lax-1a carry the region first.
    const m = /^([a-z]{2}(?:-[a-z]+)+-\d{1,2})/.exec(task.AvailabilityZone);
    if (m?.[1] !== undefined) return m[1];
  }
  throw new RegionError('ECS task metadata has neither a TaskARN nor an AvailabilityZone with a region');
}

/** IMDSv2: a session token first (IMDSv1 is often disabled), then the placement region. */
async function fromImds(base: string, deps: RegionDeps): Promise<string> {
  const root = base.replace(/\/$/, '');
  const tokenRes = await fetchWithTimeout(
    `${root}/latest/api/token`,
    { method: 'PUT', headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '60' } },
    deps,
  );
  const token = await tokenRes.text();
  const res = await fetchWithTimeout(
    `${root}/latest/meta-data/placement/region`,
    { headers: { 'x-aws-ec2-metadata-token': token } },
    deps,
  );
  return (await res.text()).trim();
}

export async function resolveRegion(deps: RegionDeps): Promise<ResolvedRegion> {
  const { env } = deps;
  for (const name of ['AWS_REGION', 'AWS_DEFAULT_REGION'] as const) {
    const value = env[name];
    if (value !== undefined && value !== '') {
      if (!REGION_PATTERN.test(value)) throw new RegionError(`${name} "${value}" is not an AWS region name such as eu-west-1`);
      return { region: value, source: name };
    }
  }
  const problems: string[] = [];
  const ecs = env.ECS_CONTAINER_METADATA_URI_V4;
  if (ecs !== undefined && ecs !== '') {
    try {
      return { region: await fromEcsTaskMetadata(ecs, deps), source: 'ecs-task-metadata' };
    } catch (err) {
      problems.push(`ECS task metadata (${ecs}): ${(err as Error).message}`);
    }
  }
  if (env.AWS_EC2_METADATA_DISABLED?.toLowerCase() !== 'true') {
    const imds = env.AWS_EC2_METADATA_SERVICE_ENDPOINT || DEFAULT_IMDS_ENDPOINT;
    try {
      const region = await fromImds(imds, deps);
      if (REGION_PATTERN.test(region)) return { region, source: 'imds' };
      problems.push(`IMDS (${imds}) answered "${region}", not a region name`);
    } catch (err) {
      problems.push(`IMDS (${imds}): ${(err as Error).message}`);
    }
  } else {
    problems.push('IMDS: disabled by AWS_EC2_METADATA_DISABLED');
  }
  throw new RegionError(
    `the region could not be found: AWS_REGION and AWS_DEFAULT_REGION are unset; ${problems.join('; ')}`,
  );
}
