import type { Server } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { AwsClients } from '../aws/clients.js';
import { classifyError } from '../aws/errors.js';
import { resolveRegion, RegionError } from '../aws/region.js';
import { describeCredentialSource } from '../aws/credentials.js';
import type { AttemptReport, RetryPolicy } from '../aws/retry.js';
import type { SidecarConfig } from '../config/settings.js';
import { writeEntitlement } from '../entitlement/file.js';
import { OUTCOMES } from '../entitlement/outcomes.js';
import type { Snapshot, SnapshotInput } from '../entitlement/status.js';
import { removeIfExists, removeStaleTemporaries } from '../shared/atomic-file.js';
import { scrubSecrets } from '../shared/scrub.js';
import type { Now } from '../shared/time.js';
import type { UsageRuntime } from '../usage/index.js';
import { denialPathFor, readDenial, writeDenial } from './denial.js';
import type { Metrics } from './lazy-metrics.js';
import { aborted, ok, outcome, type Aborted, type Entitlement, type EntitlementSource, type Ok, type Outcome, type SourceContext, type Step } from './source.js';
import type { EntitlementState } from './state.js';

/**
 * The start-up steps, each a function of what one run shares (`Run`), each ending with a value, an
 * outcome or a stop (`Step`). `decide` runs them in order; `settle` records an outcome that ends
 * start-up. Nothing here knows how an entitlement is acquired: that is the source's.
 */

/** The start-up phases, for the `startupMs` field of the `entitled` log line. */
export const PHASES = ['listening', 'region', 'credentials', 'called', 'verified', 'written'] as const;
export type Phase = (typeof PHASES)[number];

export interface Tuning {
  /** Backoffs and the per-attempt timeout; the deadline is ENTITLEMENT_REGISTER_DEADLINE's. */
  readonly retry: Omit<RetryPolicy, 'deadlineMs'>;
  /** How long after an hour closes its usage records are sent. */
  readonly usageSendDelayMs?: number;
  /** Per Kubernetes API call. */
  readonly kubernetesRequestTimeoutMs?: number;
  /** How often a watching source (License Manager) looks whether a check or an extension is due. */
  readonly watchTickMs?: number;
}

/** A watching source looks once a second whether anything is due; its intervals are minutes. */
export const DEFAULT_WATCH_TICK_MS = 1000;

/** What one run of the sidecar shares with its steps. */
export interface Run {
  readonly config: SidecarConfig;
  readonly env: NodeJS.ProcessEnv;
  readonly logger: Logger;
  readonly signal: AbortSignal;
  readonly now: Now;
  readonly aws: AwsClients;
  readonly tuning: Tuning;
  readonly source: EntitlementSource;
  readonly state: EntitlementState;
  readonly metrics: Metrics;
  readonly podEvent: (event: { reason: string; type: 'Normal' | 'Warning'; message: string }) => void;
  /** performance.now() at the end of each phase; it counts from process start. */
  readonly marks: Partial<Record<Phase | 'started', number>>;
  /** When start-up began, by `now`: the register deadline counts from here. */
  readonly startedAt: number;
  /** Outside AWS: the directory of the buyer's license Secret, whose token supplies the credentials. */
  readonly anywhere?: string | undefined;
  /** The usage intake's listener, bound at start when usage metering is configured. */
  readonly intake: Server | undefined;
}

/** The result of start-up: entitled (with usage metering, when configured), or an outcome settled. */
export interface Decision {
  readonly snapshot: Snapshot;
  readonly usage: UsageRuntime | undefined;
  /** The region found (a source's watch needs it), unless start-up ended before. */
  readonly region: string | undefined;
  /** What the source acquired, when the pod is entitled. */
  readonly entitlement: Entitlement | undefined;
}

/** Runs the start-up steps in order; undefined when stopped before an outcome. */
export async function decide(run: Run): Promise<Decision | undefined> {
  await clearStaleTemporaries(run);
  const acquired = await acquire(run);
  if (acquired.kind === 'aborted') return undefined;
  const region = acquired.kind === 'ok' ? acquired.value.region : acquired.region;
  const ended = (snapshot: Snapshot, usage?: UsageRuntime): Decision => ({ snapshot, usage, region, entitlement: undefined });
  if (acquired.kind === 'outcome') return ended(await settle(run, acquired.outcome));
  const usage = await startUsageMetering(run, region as string);
  if (usage.kind === 'aborted') return undefined;
  if (usage.kind === 'outcome') return ended(await settle(run, usage.outcome));
  const { entitlement } = acquired.value;
  const written = await writeEntitlementFile(run, entitlement);
  // Usage metering already runs: it is drained at shutdown either way.
  if (written.kind === 'outcome') return ended(await settle(run, written.outcome), usage.value);
  return { snapshot: announceEntitled(run, entitlement, written.value), usage: usage.value, region, entitlement };
}

/** The steps up to a verified entitlement: a recorded denial, the region, the credentials, the source's call. */
async function acquire(run: Run): Promise<Ok<{ region: string; entitlement: Entitlement }> | (Outcome & { region?: string }) | Aborted> {
  if (run.source.recordsDenials) {
    const recalled = await recallDenial(run);
    if (recalled.kind !== 'ok') return recalled;
  }
  const region = await findRegion(run);
  if (region.kind !== 'ok') return region;
  const credentials = await prepareCredentials(run);
  if (credentials.kind === 'outcome') return { ...credentials, region: region.value };
  if (credentials.kind !== 'ok') return credentials;
  const entitlement = await run.source.acquire(sourceContext(run, region.value));
  if (entitlement.kind === 'outcome') return { ...entitlement, region: region.value };
  if (entitlement.kind !== 'ok') return entitlement;
  return ok({ region: region.value, entitlement: entitlement.value });
}

/** Temporary files an interrupted write left behind (kill -9 between open and rename) are removed. */
export async function clearStaleTemporaries(run: Run): Promise<void> {
  for (const path of [run.config.entitlementFile, denialPathFor(run.config.entitlementFile)]) {
    const stale = await removeStaleTemporaries(path).catch(() => 0);
    if (stale > 0) run.logger.info({ path, removed: stale }, 'removed temporary files left by an interrupted write');
  }
}

/** A denial recorded earlier in this pod/task is the answer again, without calling AWS. */
export async function recallDenial(run: Run): Promise<Step<void>> {
  const { config, logger } = run;
  const denial = await readDenial(config.entitlementFile, run.source.product);
  switch (denial.kind) {
    case 'denied':
      return outcome({
        code: denial.record.code,
        awsError: denial.record.awsError,
        sticky: true,
        message: `denied earlier in this pod/task (${denial.record.deniedAt || 'time unknown'}): ${scrubSecrets(denial.record.message)}. ${run.source.call} is not called again: AWS reports entitlement errors only on the first call`,
      });
    case 'unreadable':
      return outcome({
        code: 'DENIAL_RECORD_UNREADABLE',
        message: `${denial.path} ${denial.why}; failing closed without calling ${run.source.call}, since a denial recorded there must not be lost by a restart`,
      });
    case 'foreign':
      // Never this product's answer, and its text is not shown: another product's sidecar shares the volume.
      logger.warn(
        { path: denial.path, recordedFor: denial.productCode, productCode: run.source.product },
        `a denial record for another product (${denial.productCode}) is next to the entitlement file; it is not this product's and is ignored`,
      );
      return ok(undefined);
    case 'none':
      return ok(undefined);
  }
}

export async function findRegion(run: Run): Promise<Step<string>> {
  try {
    const resolved = await resolveRegion({ env: run.env, signal: run.signal });
    run.marks.region = performance.now();
    run.logger.info({ region: resolved.region, source: resolved.source }, 'region resolved');
    return ok(resolved.region);
  } catch (err) {
    if (run.signal.aborted) return aborted;
    if (!(err instanceof RegionError)) throw err;
    const offAws = run.anywhere === undefined ? '' : '; outside AWS there is no instance metadata: set AWS_REGION (the chart value aws.region; AWS Marketplace uses us-east-1 for Containers Anywhere)';
    return outcome({ code: 'REGION_UNRESOLVED', message: `${scrubSecrets(err.message)}${offAws}` });
  }
}

/**
 * Logs which link of the credential chain answers (warning when AWS does not support it) and resolves
 * the credentials once, so their cost and failures are not the first call's. A transient failure (STS
 * unreachable, say) is left to the call's retries, which meet it again.
 */
export async function prepareCredentials(run: Run): Promise<Step<void>> {
  const creds = describeCredentialSource(run.env, { licenseToken: run.anywhere !== undefined, service: run.config.source.kind });
  if (creds.warning === undefined) run.logger.info({ credentialSource: creds.source }, `credentials: ${creds.label}`);
  else run.logger.warn({ credentialSource: creds.source, supported: false }, `credentials: ${creds.label}; ${creds.warning}`);
  try {
    await run.aws.credentials();
  } catch (err) {
    const c = classifyError(err);
    if (!OUTCOMES[c.code].retryable) return outcome({ code: c.code, awsError: c.awsError, message: `credentials: ${c.detail}` });
  }
  run.marks.credentials = performance.now();
  return ok(undefined);
}

/** Custom-dimension products: MeterUsage must work for every dimension before the app starts. */
export async function startUsageMetering(run: Run, region: string): Promise<Step<UsageRuntime | undefined>> {
  const { config } = run;
  if (config.usage === undefined || config.source.kind !== 'register-usage') return ok(undefined);
  // Loaded only for a product that meters custom dimensions.
  const { startMetering } = await import('../usage/index.js');
  const started = await startMetering({
    config: config.usage,
    client: run.aws.metering(region),
    productCode: config.source.productCode,
    logger: run.logger,
    registry: (await run.metrics.load()).registry,
    now: run.now,
    backoff: run.tuning.retry,
    attemptTimeoutMs: run.tuning.retry.attemptTimeoutMs,
    ...(run.tuning.usageSendDelayMs === undefined ? {} : { sendDelayMs: run.tuning.usageSendDelayMs }),
    onEvent: run.podEvent,
    signal: run.signal,
    remainingMs: remainingMs(run),
    ...(run.intake === undefined ? {} : { server: run.intake }),
  });
  if (started === 'aborted') return aborted;
  if (started.kind === 'failed') return outcome({ code: started.code, awsError: started.awsError, message: started.message });
  return ok(started.runtime);
}

/**
 * Writes the file the app reads. When it cannot be written (ENOSPC on a restart), a file an earlier run
 * in this pod wrote that still verifies for this product and key is kept: a full volume must not take
 * away what the app already reads. Returns that file's verifiedAt when it was kept.
 */
export async function writeEntitlementFile(run: Run, entitlement: Entitlement): Promise<Ok<string | undefined> | Outcome> {
  const { config, logger } = run;
  try {
    await writeEntitlement(config.entitlementFile, entitlement.record);
    run.marks.written = performance.now();
    return ok(undefined);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    const kept = await run.source.earlierFile?.(config.entitlementFile, new Date(run.now()));
    if (kept === undefined) return outcome({ code: 'ENTITLEMENT_WRITE_FAILED', message: `writing ${config.entitlementFile} failed (${code})` });
    logger.warn(
      { entitlementFile: config.entitlementFile, errno: code, keptFileVerifiedAt: kept },
      `the entitlement file could not be rewritten (${code}); the one an earlier run in this pod wrote stays: it verifies for this product and key`,
    );
    run.marks.written = performance.now();
    return ok(kept);
  }
}

/** The pod is entitled: metrics, the key-rotation warning, /healthz, the log line. */
export function announceEntitled(run: Run, entitlement: Entitlement, keptFileVerifiedAt: string | undefined): Snapshot {
  const { config, logger, metrics } = run;
  metrics.record((m) => m.verifiedTimestamp.set(entitlement.verifiedAt.getTime() / 1000));
  const rotation = entitlement.publicKeyRotation;
  if (rotation !== undefined) {
    metrics.record((m) => m.keyRotationTimestamp.set(rotation.getTime() / 1000));
    logger.warn(
      { publicKeyVersion: entitlement.record.source === 'register-usage' ? entitlement.record.publicKeyVersion : undefined, publicKeyRotationTimestamp: rotation.toISOString() },
      'AWS reports this public key version has expired (PublicKeyRotationTimestamp): the seller must ship a new MARKETPLACE_PUBLIC_KEY_VERSION and key',
    );
  }
  const kept = keptFileVerifiedAt === undefined ? '' : `; the file could not be rewritten, the one verified at ${keptFileVerifiedAt} by an earlier run in this pod stays`;
  const snapshot = run.state.set({
    code: 'ENTITLED',
    message: `${entitlement.message}${kept}`,
    at: entitlement.verifiedAt,
    entitlement: { ...entitlement.summary, entitlementFile: config.entitlementFile },
    ...(rotation === undefined ? {} : { publicKeyRotationTimestamp: rotation.toISOString() }),
  });
  logger.info(
    {
      status: snapshot.status,
      code: snapshot.code,
      attempts: entitlement.attempts,
      entitlementFile: config.entitlementFile,
      startupMs: startupPhases(run.marks),
      action: snapshot.action,
    },
    'entitled',
  );
  return snapshot;
}

/**
 * Records an outcome that ends start-up. A sticky denial is on disk before anyone is told, so a
 * container killed in between does not call again; no entitlement file stays behind.
 */
export async function settle(run: Run, input: SnapshotInput): Promise<Snapshot> {
  const { config, logger, state } = run;
  const at = new Date(run.now());
  if (run.source.recordsDenials && OUTCOMES[input.code].sticky && input.sticky !== true) {
    try {
      await writeDenial(config.entitlementFile, {
        code: input.code,
        status: OUTCOMES[input.code].status,
        productCode: run.source.product,
        awsError: input.awsError,
        message: input.message,
        deniedAt: at.toISOString(),
      });
    } catch (err) {
      logger.error({ err, code: input.code }, 'could not record the denial next to the entitlement file; a restarted sidecar would call again');
    }
  }
  await removeIfExists(config.entitlementFile).catch((err: unknown) => logger.error({ err }, 'could not remove the entitlement file'));
  const snapshot = state.set({ ...input, at });
  logger.error(
    { status: snapshot.status, code: snapshot.code, awsError: snapshot.awsError, sticky: snapshot.sticky, action: snapshot.action },
    `not entitled: ${snapshot.message}`,
  );
  return snapshot;
}

/** The source's view of the run: the region, the clients, the retry policy with what is left of the deadline. */
export function sourceContext(run: Run, region: string): SourceContext {
  const { logger, state } = run;
  return {
    region,
    aws: run.aws,
    env: run.env,
    signal: run.signal,
    logger,
    metrics: run.metrics,
    now: run.now,
    policy: { ...run.tuning.retry, deadlineMs: remainingMs(run) },
    entitlementFile: run.config.entitlementFile,
    watchTickMs: run.tuning.watchTickMs ?? DEFAULT_WATCH_TICK_MS,
    mark: (phase: 'called' | 'verified') => (run.marks[phase] = performance.now()),
    onAttempt: (a: AttemptReport) => {
      if (a.nextDelayMs === undefined) return;
      const why = a.detail === undefined ? '' : ` (${a.detail})`;
      state.set({ code: a.code, message: `attempt ${a.attempt}: ${a.awsError ?? a.code}${why}; retrying in ${a.nextDelayMs} ms`, awsError: a.awsError });
      logger.warn({ attempt: a.attempt, code: a.code, awsError: a.awsError, retryInMs: a.nextDelayMs }, `${run.source.call} failed transiently; retrying`);
    },
  };
}

/** What is left of ENTITLEMENT_REGISTER_DEADLINE, by the run's clock. */
function remainingMs(run: Run): number {
  return run.config.registerDeadlineMs - (run.now() - run.startedAt);
}

/** Milliseconds spent in each start-up phase, from process start to the entitlement file. */
export function startupPhases(marks: Run['marks']): Record<string, number> {
  const ms = (a: Phase | 'started', b: Phase) => Math.round(((marks[b] ?? 0) - (marks[a] ?? 0)) * 10) / 10;
  return {
    modulesAndConfig: Math.round((marks.started ?? 0) * 10) / 10,
    httpServer: ms('started', 'listening'),
    region: ms('listening', 'region'),
    credentialProvider: ms('region', 'credentials'),
    registerUsage: ms('credentials', 'called'),
    verify: ms('called', 'verified'),
    writeFile: ms('verified', 'written'),
    total: Math.round((marks.written ?? 0) * 10) / 10,
  };
}
