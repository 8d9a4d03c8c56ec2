/**
 * ecs/task-definition.json and the task role's policies, checked offline by AWS's own ECS API model
 * (Debian's botocore, run with /usr/bin/python3, and the AWS CLI's input validation) and against the
 * sidecar's contract: health check command = the image's `check`, port = ENTITLEMENT_LISTEN, the
 * entitlement volume, dependsOn HEALTHY. Registering and running the task needs a real AWS account.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SETTINGS } from '../../src/config/settings.js';
import type { SidecarConfig } from '../../src/config/settings.js';
import { stopBudgetMs } from '../../src/sidecar/run.js';
import { REPO_ROOT, run } from './exec.js';
import { readDockerfile } from './podman.js';

interface KV { name: string; value: string }
interface ContainerDef {
  name: string;
  image: string;
  essential?: boolean;
  command?: string[];
  cpu?: number;
  memory?: number;
  memoryReservation?: number;
  user?: string;
  readonlyRootFilesystem?: boolean;
  linuxParameters?: { capabilities?: { drop?: string[]; add?: string[] } };
  environment?: KV[];
  portMappings?: { name?: string; containerPort: number; protocol?: string }[];
  mountPoints?: { sourceVolume: string; containerPath: string; readOnly?: boolean }[];
  healthCheck?: { command: string[]; interval: number; timeout: number; retries: number; startPeriod: number };
  dependsOn?: { containerName: string; condition: string }[];
  stopTimeout?: number;
  logConfiguration?: { logDriver: string; options: Record<string, string> };
}
interface TaskDef {
  family: string;
  requiresCompatibilities: string[];
  networkMode: string;
  cpu: string;
  memory: string;
  taskRoleArn: string;
  executionRoleArn: string;
  volumes: { name: string; host?: unknown; dockerVolumeConfiguration?: unknown; efsVolumeConfiguration?: unknown }[];
  containerDefinitions: ContainerDef[];
}

const ECS_DIR = join(REPO_ROOT, 'ecs');
const readJson = <T>(name: string) => JSON.parse(readFileSync(join(ECS_DIR, name), 'utf8')) as T;

/** One task definition per kind of product, each with the task role policy it needs. */
interface Variant {
  readonly file: string;
  readonly policy: string;
  readonly source: SidecarConfig['source']['kind'];
  /** `sidecar`: `run`, kept running and health-checked; `init`: `register`, which exits once the task is entitled. */
  readonly mode: 'sidecar' | 'init';
  readonly taskDef: TaskDef;
  readonly sidecar: ContainerDef;
  readonly app: ContainerDef;
}
function variant(file: string, policy: string, source: Variant['source'], mode: Variant['mode'] = 'sidecar'): Variant {
  const taskDef = readJson<TaskDef>(file);
  const sidecar = taskDef.containerDefinitions.find((c) => c.name === 'entitlement-sidecar') as ContainerDef;
  const app = taskDef.containerDefinitions.find((c) => c.name === 'app') as ContainerDef;
  return { file, policy, source, mode, taskDef, sidecar, app };
}
const VARIANTS: readonly Variant[] = [
  variant('task-definition.json', 'iam-task-role-policy.json', 'register-usage'),
  variant('task-definition-license-manager.json', 'iam-task-role-policy-license-manager.json', 'license-manager'),
  variant('task-definition-init.json', 'iam-task-role-policy.json', 'register-usage', 'init'),
];
const RUNNING = VARIANTS.filter((v) => v.mode === 'sidecar');
const env = (c: ContainerDef, name: string) => c.environment?.find((e) => e.name === name)?.value;
const dockerfile = readDockerfile().text;
const settingDefault = (name: string) => SETTINGS.find((s) => s.env === name)?.default as string;

/** The Dockerfile's exec-form JSON array after `keyword` (ENTRYPOINT, or HEALTHCHECK ... CMD). */
function dockerfileArray(pattern: RegExp): string[] {
  const m = pattern.exec(dockerfile.replace(/\s*\\\n\s*/g, ' '));
  if (m?.[1] === undefined) throw new Error(`Dockerfile has no ${pattern}`);
  return JSON.parse(m[1]) as string[];
}
const ENTRYPOINT = dockerfileArray(/^ENTRYPOINT (\[.*\])$/m);
const HEALTHCHECK = dockerfileArray(/^HEALTHCHECK .* CMD (\[.*\])$/m);

const PY_VALIDATE = `
import json, sys
import botocore, botocore.session, botocore.validate
doc = json.load(sys.stdin)
shape = botocore.session.get_session().get_service_model('ecs').operation_model('RegisterTaskDefinition').input_shape
report = botocore.validate.ParamValidator().validate(doc, shape)
print(json.dumps({"botocore": botocore.__version__, "errors": report.generate_report() if report.has_errors() else ""}))
`;

async function botocoreValidate(doc: unknown): Promise<{ botocore: string; errors: string }> {
  const r = await run('/usr/bin/python3', ['-c', PY_VALIDATE], { timeoutMs: 60_000, input: JSON.stringify(doc) });
  if (r.code !== 0) throw new Error(`python3 failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout) as { botocore: string; errors: string };
}

const work = mkdtempSync(join(tmpdir(), 'entitlement-ecs-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** `aws ecs register-task-definition` up to the request: 252 = invalid input, 255 = valid but unreachable. */
async function cliRegister(doc: unknown): Promise<{ code: number | null; stderr: string }> {
  const file = join(work, `td-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(doc));
  const r = await run(
    '/usr/bin/aws',
    ['ecs', 'register-task-definition', '--cli-input-json', `file://${file}`, '--endpoint-url', 'http://127.0.0.1:1', '--cli-connect-timeout', '2'],
    {
      timeoutMs: 60_000,
      env: {
        PATH: process.env.PATH,
        HOME: work,
        AWS_ACCESS_KEY_ID: 'AKIAEXAMPLEVALIDATE1',
        AWS_SECRET_ACCESS_KEY: 'not-a-real-secret',
        AWS_DEFAULT_REGION: 'us-east-1',
        AWS_MAX_ATTEMPTS: '1',
        AWS_EC2_METADATA_DISABLED: 'true',
        AWS_CONFIG_FILE: join(work, 'none'),
        AWS_SHARED_CREDENTIALS_FILE: join(work, 'none'),
      },
    },
  );
  return { code: r.code, stderr: r.stderr };
}

describe.each(VARIANTS)('ecs/$file against the ECS API model', ({ taskDef, sidecar, app }) => {
  it('passes botocore validation of RegisterTaskDefinition (required fields, types, no unknown keys)', async () => {
    expect(existsSync('/usr/bin/python3')).toBe(true);
    const r = await botocoreValidate(taskDef);
    expect(r.errors).toBe('');
    console.log(`validated with botocore ${r.botocore}`);
  });

  it('is rejected by the same validation when broken (the check can fail)', async () => {
    const broken = structuredClone(taskDef) as unknown as Record<string, unknown> & { containerDefinitions: Record<string, unknown>[] };
    const first = broken.containerDefinitions[0] as { healthcheck?: unknown; healthCheck?: Record<string, unknown> };
    first.healthcheck = {};
    first.healthCheck = { command: ['CMD', 'true'], ...first.healthCheck, interval: '10' };
    delete broken.family;
    const r = await botocoreValidate(broken);
    expect(r.errors).toMatch(/Unknown parameter in containerDefinitions\[0\]: "healthcheck"/);
    expect(r.errors).toMatch(/Invalid type for parameter containerDefinitions\[0\]\.healthCheck\.interval/);
    expect(r.errors).toMatch(/Missing required parameter in input: "family"/);
  });

  it('passes the AWS CLI input validation (exit 255: valid, then no endpoint on 127.0.0.1:1), and a broken one exits 252', async () => {
    const ok = await cliRegister(taskDef);
    expect(ok.code, ok.stderr).toBe(255);
    expect(ok.stderr).toMatch(/Could not connect to the endpoint URL/);
    const broken = { ...taskDef, containerDefinitions: [{ ...sidecar, healthCheck: { interval: 10, ...sidecar.healthCheck, command: 'check' } }, app] };
    const bad = await cliRegister(broken);
    expect(bad.code).toBe(252);
    expect(bad.stderr).toMatch(/Invalid type for parameter containerDefinitions\[0\]\.healthCheck\.command/);
  });

  it('keeps to the ECS limits botocore does not check (enums and ranges from the ECS API reference)', () => {
    expect(taskDef.requiresCompatibilities.sort()).toEqual(['EC2', 'FARGATE']);
    expect(taskDef.networkMode).toBe('awsvpc');
    // A valid Fargate size (0.5 vCPU: 1-4 GB), and the containers fit in it.
    expect([taskDef.cpu, taskDef.memory]).toEqual(['512', '1024']);
    const cpu = taskDef.containerDefinitions.reduce((s, c) => s + (c.cpu ?? 0), 0);
    const mem = taskDef.containerDefinitions.reduce((s, c) => s + (c.memory ?? c.memoryReservation ?? 0), 0);
    expect(cpu).toBeLessThanOrEqual(Number(taskDef.cpu));
    expect(mem).toBeLessThanOrEqual(Number(taskDef.memory));
    // `register` exits: no health check (it would never pass), nothing to keep healthy.
    expect(sidecar.healthCheck === undefined).toBe(sidecar.command?.[0] === 'register');
    const hc = sidecar.healthCheck ?? { interval: 5, timeout: 2, retries: 1, startPeriod: 0 };
    expect(hc.interval).toBeGreaterThanOrEqual(5);
    expect(hc.interval).toBeLessThanOrEqual(300);
    expect(hc.timeout).toBeGreaterThanOrEqual(2);
    expect(hc.timeout).toBeLessThanOrEqual(60);
    expect(hc.retries).toBeGreaterThanOrEqual(1);
    expect(hc.retries).toBeLessThanOrEqual(10);
    expect(hc.startPeriod).toBeGreaterThanOrEqual(0);
    expect(hc.startPeriod).toBeLessThanOrEqual(300);
    for (const d of app.dependsOn ?? []) expect(['START', 'COMPLETE', 'SUCCESS', 'HEALTHY']).toContain(d.condition);
    // The volume is task-scoped (a bind mount without host path): supported on Fargate and EC2 alike.
    for (const v of taskDef.volumes) {
      expect(v.host).toBeUndefined();
      expect(v.dockerVolumeConfiguration).toBeUndefined();
    }
  });
});

describe.each(RUNNING)('ecs/$file runs the sidecar and health-checks it', ({ sidecar, app }) => {
  it('health-checks the sidecar with the image\'s own `check` command, exec form, no shell or curl', () => {
    expect(sidecar.healthCheck?.command).toEqual(['CMD', ...ENTRYPOINT, 'check']);
    expect(HEALTHCHECK).toEqual([...ENTRYPOINT, 'check']);
    expect(sidecar.healthCheck?.command).not.toContain('CMD-SHELL');
    // A start period, and a failure budget that gives a throttled start several minutes.
    const hc = sidecar.healthCheck!;
    expect(hc.startPeriod).toBe(300);
    expect(hc.startPeriod + hc.retries * hc.interval).toBeGreaterThanOrEqual(360);
  });

  it('starts the app only once the sidecar is HEALTHY, and stops the task if the sidecar stops', () => {
    expect(sidecar.essential).toBe(true);
    expect(app.dependsOn).toEqual([{ containerName: 'entitlement-sidecar', condition: 'HEALTHY' }]);
  });

  it('maps the port of ENTITLEMENT_LISTEN, the one `check` and the app dial on 127.0.0.1 (awsvpc)', () => {
    const listen = env(sidecar, 'ENTITLEMENT_LISTEN') ?? settingDefault('ENTITLEMENT_LISTEN');
    const port = Number(/:(\d+)$/.exec(listen)?.[1]);
    expect(listen).toBe(settingDefault('ENTITLEMENT_LISTEN'));
    expect(dockerfile).toContain(`ENTITLEMENT_LISTEN=${listen}`);
    expect(sidecar.portMappings).toEqual([{ name: 'entitlement', containerPort: port, protocol: 'tcp' }]);
    expect(env(app, 'ENTITLEMENT_HEALTH_URL')).toBe(`http://127.0.0.1:${port}/healthz`);
  });
});

describe.each(VARIANTS)('ecs/$file matches the sidecar and its image', ({ taskDef, sidecar, app, source, mode }) => {
  it("shares a task-scoped volume at the entitlement file's directory: writable in the sidecar, read-only in the app", () => {
    const file = env(sidecar, 'ENTITLEMENT_FILE') as string;
    expect(file).toBe(settingDefault('ENTITLEMENT_FILE'));
    const dir = file.slice(0, file.lastIndexOf('/'));
    const [volume] = taskDef.volumes;
    expect(taskDef.volumes).toHaveLength(1);
    expect(sidecar.mountPoints).toEqual([{ sourceVolume: volume?.name, containerPath: dir, readOnly: false }]);
    expect(app.mountPoints).toEqual([{ sourceVolume: volume?.name, containerPath: dir, readOnly: true }]);
    expect(env(app, 'ENTITLEMENT_FILE')).toBe(file);
    // The image declares that directory a VOLUME owned by uid 65532: ECS copies it, ownership included,
    // into the task volume, so the non-root sidecar can write there.
    expect(dockerfile).toContain(`VOLUME ["${dir}"]`);
    expect(dockerfile).toMatch(new RegExp(`COPY --from=build --chown=65532:65532 \\S+ ${dir}/`));
  });

  it('runs the sidecar as uid 65532 with a read-only root file system and no capabilities; stop within its timeout', () => {
    expect(sidecar.user).toBe('65532:65532');
    expect(dockerfile).toMatch(/^USER 65532:65532$/m);
    expect(sidecar.readonlyRootFilesystem).toBe(true);
    expect(sidecar.linuxParameters?.capabilities?.drop).toEqual(['ALL']);
    expect(app.readonlyRootFilesystem).toBe(true);
    // The sidecar exits within 2 s of SIGTERM (see the image test), or, metering custom dimensions, after
    // sending the task's current hour for up to USAGE_DRAIN_MS, or, holding a license seat, after
    // checking it in; ECS waits stopTimeout before SIGKILL.
    const budgetMs = mode === 'init' ? 2000 : stopBudgetMs({ usage: source === 'register-usage' ? ({} as never) : undefined, source: { kind: source } as never });
    expect(sidecar.stopTimeout).toBeGreaterThanOrEqual(Math.ceil(budgetMs / 1000) + 5);
    expect(sidecar.stopTimeout).toBeLessThanOrEqual(120);
  });

  it('sets no product values and no credentials: the seller image carries them, the task role provides credentials', () => {
    const names = taskDef.containerDefinitions.flatMap((c) => (c.environment ?? []).map((e) => e.name));
    expect(names.filter((n) => n.startsWith('MARKETPLACE_') || n.startsWith('AWS_'))).toEqual([]);
    const known = new Set(SETTINGS.map((s) => s.env));
    for (const e of sidecar.environment ?? []) expect(known.has(e.name as (typeof SETTINGS)[number]['env'])).toBe(true);
    expect(taskDef.taskRoleArn).toMatch(/^arn:aws[a-z-]*:iam::\d{12}:role\/.+/);
  });

  it('logs every container to CloudWatch Logs (awslogs)', () => {
    for (const c of taskDef.containerDefinitions) {
      expect(c.logConfiguration?.logDriver).toBe('awslogs');
      expect(Object.keys(c.logConfiguration?.options ?? {}).sort()).toEqual(['awslogs-create-group', 'awslogs-group', 'awslogs-region', 'awslogs-stream-prefix']);
    }
  });
});

describe('ecs/task-definition-init.json: init mode, `register` once and exit', () => {
  const init = VARIANTS.find((v) => v.mode === 'init') as Variant;
  const { sidecar, app, taskDef } = init;
  const running = RUNNING[0] as Variant;

  it('runs `register` as a non-essential container the app waits for with SUCCESS (exit 0 = entitled)', () => {
    expect(sidecar.command).toEqual(['register']);
    // SUCCESS can only be set on a non-essential container; a non-zero exit (not entitled) keeps the app from starting.
    expect(sidecar.essential).toBe(false);
    expect(app.essential).toBe(true);
    expect(app.dependsOn).toEqual([{ containerName: 'entitlement-sidecar', condition: 'SUCCESS' }]);
  });

  it('serves nothing: no health check, no port, no ENTITLEMENT_LISTEN, and the app is not told of a /healthz', () => {
    expect(sidecar.healthCheck).toBeUndefined();
    expect(sidecar.portMappings).toBeUndefined();
    expect(env(sidecar, 'ENTITLEMENT_LISTEN')).toBeUndefined();
    expect(env(app, 'ENTITLEMENT_HEALTH_URL')).toBeUndefined();
    expect(env(app, 'ENTITLEMENT_FILE')).toBe(env(sidecar, 'ENTITLEMENT_FILE'));
  });

  it('is otherwise the hourly task definition: same role, volume, users, images and settings', () => {
    expect(taskDef.taskRoleArn).toBe(running.taskDef.taskRoleArn);
    expect(taskDef.volumes).toEqual(running.taskDef.volumes);
    expect(sidecar.image).toBe(running.sidecar.image);
    expect(app.image).toBe(running.app.image);
    const settings = (c: ContainerDef) => (c.environment ?? []).filter((e) => e.name !== 'ENTITLEMENT_LISTEN' && e.name !== 'ENTITLEMENT_HEALTH_URL');
    expect(settings(sidecar)).toEqual(settings(running.sidecar));
    expect(settings(app)).toEqual(settings(running.app));
  });
});

describe('ecs/task-definition-anywhere.json: a contract product on ECS Anywhere (EXTERNAL instances)', () => {
  const anywhere = readJson<Omit<TaskDef, 'volumes'> & { volumes: { name: string; host?: { sourcePath: string } }[] }>('task-definition-anywhere.json');
  const side = anywhere.containerDefinitions.find((c) => c.name === 'entitlement-sidecar') as ContainerDef;
  const appC = anywhere.containerDefinitions.find((c) => c.name === 'app') as ContainerDef;

  it('passes botocore and the AWS CLI input validation of RegisterTaskDefinition', async () => {
    expect((await botocoreValidate(anywhere)).errors).toBe('');
    const r = await cliRegister(anywhere);
    expect(r.code, r.stderr).toBe(255);
  });

  it("runs on EXTERNAL instances with host networking, the sidecar on loopback only, no task role", () => {
    expect(anywhere.requiresCompatibilities).toEqual(['EXTERNAL']);
    // EXTERNAL supports bridge, host and none; host keeps 127.0.0.1 shared, as awsvpc does on AWS.
    expect(anywhere.networkMode).toBe('host');
    expect((anywhere as { taskRoleArn?: string }).taskRoleArn).toBeUndefined();
    const listen = env(side, 'ENTITLEMENT_LISTEN') as string;
    expect(listen).toBe('127.0.0.1:9797');
    expect(side.portMappings).toEqual([{ name: 'entitlement', containerPort: 9797, hostPort: 9797, protocol: 'tcp' }]);
    expect(env(appC, 'ENTITLEMENT_HEALTH_URL')).toBe('http://127.0.0.1:9797/healthz');
    expect(appC.dependsOn).toEqual([{ containerName: 'entitlement-sidecar', condition: 'HEALTHY' }]);
    expect(side.healthCheck?.command).toEqual(['CMD', ...ENTRYPOINT, 'check']);
  });

  it("mounts the buyer's license files from the instance into the sidecar only, read-only, where the sidecar looks", () => {
    const license = anywhere.volumes.find((v) => v.host !== undefined);
    expect(license?.host?.sourcePath).toMatch(/^\//);
    const mount = side.mountPoints?.find((m) => m.sourceVolume === license?.name);
    expect(mount).toEqual({ sourceVolume: license?.name, containerPath: settingDefault('ENTITLEMENT_LICENSE_TOKEN_DIR'), readOnly: true });
    expect(env(side, 'ENTITLEMENT_LICENSE_TOKEN_DIR')).toBe(mount?.containerPath);
    expect(appC.mountPoints?.some((m) => m.sourceVolume === license?.name)).toBe(false);
    // Off AWS there is no task metadata region: the task says it, and a daily check with a longer grace.
    expect(env(side, 'AWS_REGION')).toBe('us-east-1');
    expect(env(side, 'ENTITLEMENT_LICENSE_CHECK_INTERVAL')).toBe('24h');
    expect(env(side, 'ENTITLEMENT_LICENSE_GRACE')).toBe('72h');
    const known = new Set(SETTINGS.map((x) => x.env));
    for (const e of side.environment ?? []) if (!e.name.startsWith('AWS_')) expect(known.has(e.name as (typeof SETTINGS)[number]['env']), e.name).toBe(true);
  });
});

describe('the task role', () => {
  it('for custom-dimension products, adds aws-marketplace:MeterUsage and nothing else', () => {
    const policy = JSON.parse(readFileSync(join(ECS_DIR, 'iam-task-role-policy-metering.json'), 'utf8')) as { Version: string; Statement: unknown[] };
    expect(policy.Version).toBe('2012-10-17');
    expect(policy.Statement).toEqual([
      { Sid: 'RegisterUsage', Effect: 'Allow', Action: 'aws-marketplace:RegisterUsage', Resource: '*' },
      { Sid: 'MeterUsageForCustomDimensions', Effect: 'Allow', Action: 'aws-marketplace:MeterUsage', Resource: '*' },
    ]);
  });

  it('may call aws-marketplace:RegisterUsage and nothing else', () => {
    const policy = readJson<{ Version: string; Statement: Record<string, unknown>[] }>('iam-task-role-policy.json');
    expect(policy.Version).toBe('2012-10-17');
    expect(policy.Statement).toEqual([{ Sid: 'RegisterUsage', Effect: 'Allow', Action: 'aws-marketplace:RegisterUsage', Resource: '*' }]);
  });

  it('for contract products, may call the five License Manager actions of AWSLicenseManagerConsumptionPolicy and nothing else', () => {
    const policy = readJson<{ Version: string; Statement: { Sid: string; Effect: string; Action: string[]; Resource: string }[] }>('iam-task-role-policy-license-manager.json');
    expect(policy.Version).toBe('2012-10-17');
    expect(policy.Statement).toHaveLength(1);
    const [statement] = policy.Statement;
    expect(statement?.Effect).toBe('Allow');
    expect(statement?.Resource).toBe('*');
    expect([...(statement?.Action ?? [])].sort()).toEqual(
      ['CheckInLicense', 'CheckoutLicense', 'ExtendLicenseConsumption', 'GetLicense', 'ListReceivedLicenses'].map((a) => `license-manager:${a}`),
    );
    // Every License Manager operation the sidecar sends is among them.
    const sent = [...readFileSync(join(REPO_ROOT, 'src', 'aws', 'license-manager.ts'), 'utf8').matchAll(/new (\w+)Command\(/g)].map((m) => `license-manager:${m[1]}`);
    expect(sent.length).toBeGreaterThan(0);
    for (const action of sent) expect(statement?.Action).toContain(action);
  });

  it.each(VARIANTS)('$file names the role the README creates with $policy', ({ file, taskDef, policy }) => {
    const role = /:role\/(.+)$/.exec(taskDef.taskRoleArn)?.[1] as string;
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8').replace(/\s*\\\n\s*/g, ' ');
    expect(readme).toContain(`aws iam create-role --role-name ${role} --assume-role-policy-document file://ecs/iam-task-role-trust-policy.json`);
    expect(readme).toMatch(new RegExp(`aws iam put-role-policy --role-name ${role} --policy-name \\S+ --policy-document file://ecs/${policy}`));
    expect(readme).toContain(`aws ecs register-task-definition --cli-input-json file://ecs/${file}`);
  });

  it.each(VARIANTS)('is assumable only by ECS tasks of the account (confused-deputy conditions): $file', ({ taskDef }) => {
    const trust = readJson<{ Version: string; Statement: { Effect: string; Principal: unknown; Action: string; Condition: Record<string, Record<string, string>> }[] }>('iam-task-role-trust-policy.json');
    expect(trust.Version).toBe('2012-10-17');
    expect(trust.Statement).toHaveLength(1);
    const [s] = trust.Statement;
    expect(s?.Effect).toBe('Allow');
    expect(s?.Principal).toEqual({ Service: 'ecs-tasks.amazonaws.com' });
    expect(s?.Action).toBe('sts:AssumeRole');
    const account = /::(\d{12}):/.exec(taskDef.taskRoleArn)?.[1];
    expect(s?.Condition.StringEquals?.['aws:SourceAccount']).toBe(account);
    expect(s?.Condition.ArnLike?.['aws:SourceArn']).toBe(`arn:aws:ecs:*:${account}:*`);
  });
});
