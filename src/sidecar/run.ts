import { MarketplaceMeteringClient } from '@aws-sdk/client-marketplace-metering';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { SidecarConfig } from '../config/settings.js';
import { describeCredentialSource } from '../aws/credentials.js';
import { denialPathFor, readDenial, writeDenial, writeEntitlement, type EntitlementRecord } from '../entitlement/file.js';
import { removeIfExists, removeStaleTemporaries } from '../shared/atomic-file.js';
import { verifyEntitlementFile } from '../entitlement/verify-file.js';
import { closeServer, listen } from '../shared/http.js';
import { createProbeServer } from './probe-server.js';
import { createMetrics, type SidecarMetrics } from './metrics.js';
import { OUTCOMES } from '../entitlement/outcomes.js';
import { resolveRegion, RegionError } from '../aws/region.js';
import { classifyError, DEFAULT_RETRY_POLICY, registerWithRetry, type RetryPolicy } from '../aws/register-usage.js';
import { startKubernetesStatus, type KubernetesStatus } from '../k8s/index.js';
import { EntitlementState, type Observer, type Snapshot } from './state.js';
import { startMetering, type UsageRuntime } from '../usage/index.js';
import { scrubSecrets } from '../shared/scrub.js';
import { TokenVerificationError, verifyRegistrationToken } from '../entitlement/token.js';

export interface SidecarDeps {
  readonly config: SidecarConfig;
  /** The environment the AWS settings (region, endpoint, credentials) are read from. */
  readonly env: NodeJS.ProcessEnv;
  readonly logger: Logger;
  /** Aborted on SIGTERM/SIGINT: stops retries and closes the server. */
  readonly signal: AbortSignal;
  readonly version: string;
  readonly retryPolicy?: Partial<Omit<RetryPolicy, 'deadlineMs'>>;
  /** Builds the Metering client; the default is the real SDK client with the default credential chain. */
  readonly createClient?: (region: string) => Pick<MarketplaceMeteringClient, 'send'>;
  readonly observers?: readonly Observer[];
  /** Test hooks for the Kubernetes status reporter: where the service-account directory is, request timeout. */
  readonly kubernetes?: { readonly serviceAccountPrefix?: string; readonly requestTimeoutMs?: number };
  readonly onListening?: (address: AddressInfo) => void;
  readonly onDecided?: (snapshot: Snapshot) => void;
  /** The clock of usage metering (hours, journal times); injected by tests to cross hour boundaries. */
  readonly now?: () => number;
  /** Test hook: the usage runtime once it runs (only with MARKETPLACE_USAGE_DIMENSIONS). */
  readonly onUsage?: (usage: UsageRuntime) => void;
  /** How long after an hour closes its usage records are sent. */
  readonly usageSendDelayMs?: number;
}

/**
 * How long SIGTERM may take. Without usage metering, 2 s. With it, the pod's current hour is sent
 * first, for up to USAGE_DRAIN_MS: within Kubernetes' default 30 s grace period and ECS's stopTimeout
 * of 30 s set in ecs/task-definition.json.
 */
export const USAGE_DRAIN_MS = 20_000;
export function stopBudgetMs(config: Pick<SidecarConfig, 'usage'>): number {
  return config.usage === undefined ? 1800 : USAGE_DRAIN_MS + 2000;
}

const KUBERNETES_FLUSH_ON_STOP_MS = 1000;

/** Where the endpoint override comes from, as the SDK itself reads it (service id "Marketplace Metering"). */
export function endpointOverride(env: NodeJS.ProcessEnv): string | undefined {
  return env.AWS_ENDPOINT_URL_MARKETPLACE_METERING || env.AWS_ENDPOINT_URL || undefined;
}

function defaultClient(region: string, env: NodeJS.ProcessEnv): MarketplaceMeteringClient {
  const endpoint = endpointOverride(env);
  return new MarketplaceMeteringClient({
    region,
    // Our own loop retries with a deadline; SDK retries would multiply requests against the quota.
    maxAttempts: 1,
    credentials: defaultProvider(),
    // Without throwOnRequestTimeout the SDK only warns when requestTimeout passes.
    requestHandler: { connectionTimeout: 3000, requestTimeout: DEFAULT_RETRY_POLICY.attemptTimeoutMs, throwOnRequestTimeout: true },
    ...(endpoint === undefined ? {} : { endpoint }),
  });
}

export async function runSidecar(deps: SidecarDeps): Promise<Snapshot> {
  const { config, logger, signal } = deps;
  // performance.now() counts from process start, so the first mark covers module loading and config.
  const marks: Record<string, number> = { started: performance.now() };
  const state = new EntitlementState();
  const metrics = createMetrics(deps.version);
  state.subscribe((s) => metrics.setStatus(s.status));
  // Events and the readiness-gate condition: asynchronous, so the Kubernetes API never decides or delays.
  const kubernetes = startKubernetesStatus({
    mode: config.kubernetesStatus,
    env: deps.env,
    logger,
    registry: metrics.registry,
    ...deps.kubernetes,
  });
  state.subscribe(kubernetes.observer);
  for (const observer of deps.observers ?? []) state.subscribe(observer);

  const server = createProbeServer({ state, registry: metrics.registry, logger: logger.child({ module: 'http' }) });
  const address = await listen(server, config.listen, { setting: 'ENTITLEMENT_LISTEN' });
  marks.listening = performance.now();
  logger.info(
    {
      version: deps.version,
      productCode: config.productCode,
      publicKeyVersion: config.publicKeyVersion,
      publicKey: { source: config.publicKeySource, bits: config.publicKey.bits, fingerprint: config.publicKey.fingerprint },
      trustedProductCodes: config.trustedProductCodes,
      entitlementFile: config.entitlementFile,
      listen: `${address.address}:${address.port}`,
      registerDeadlineMs: config.registerDeadlineMs,
      endpointOverride: endpointOverride(deps.env),
      kubernetesStatus: config.kubernetesStatus,
      usage: config.usage === undefined ? undefined : { dimensions: config.usage.dimensions, journal: config.usage.journalFile },
    },
    'entitlement sidecar starting',
  );
  deps.onListening?.(address);

  const ctx: DecideContext = { state, metrics, marks, podEvent: kubernetes.event, usage: undefined };
  try {
    const decided = await decide(deps, ctx);
    if (decided !== undefined) deps.onDecided?.(decided);
    if (!signal.aborted) await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
  } finally {
    // The pod's current hour of usage goes out before the probe server closes.
    if (ctx.usage !== undefined) await ctx.usage.stop((deps.now ?? Date.now)() + USAGE_DRAIN_MS);
    await closeServer(server);
    // Give the last Event and condition a moment to land, within the 2 s SIGTERM budget.
    await Promise.race([kubernetes.flush(), sleep(KUBERNETES_FLUSH_ON_STOP_MS, undefined, { ref: false })]);
  }
  logger.info({ status: state.current.status, code: state.current.code }, 'entitlement sidecar stopped');
  return state.current;
}

/** What one run of the sidecar shares with its registration. */
interface DecideContext {
  readonly state: EntitlementState;
  readonly metrics: SidecarMetrics;
  /** Start-up phase marks (performance.now()), for the `startupMs` log field. */
  readonly marks: Record<string, number>;
  readonly podEvent: KubernetesStatus['event'];
  /** Set once usage metering runs, so the run can drain it at shutdown. */
  usage: UsageRuntime | undefined;
}

/** Runs the registration once and records its outcome. Undefined when stopped before an outcome. */
async function decide(deps: SidecarDeps, ctx: DecideContext): Promise<Snapshot | undefined> {
  const { config, logger, env, signal } = deps;
  const { state, metrics, marks, podEvent } = ctx;
  const fail = async (input: Parameters<EntitlementState['set']>[0]) => {
    const at = new Date();
    // The denial is on disk before anyone is told: a container killed in between must not call again.
    if (OUTCOMES[input.code].sticky && input.sticky !== true) {
      try {
        await writeDenial(config.entitlementFile, {
          code: input.code,
          status: OUTCOMES[input.code].status,
          productCode: config.productCode,
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
  };

  for (const path of [config.entitlementFile, denialPathFor(config.entitlementFile)]) {
    const stale = await removeStaleTemporaries(path).catch(() => 0);
    if (stale > 0) logger.info({ path, removed: stale }, 'removed temporary files left by an interrupted write');
  }
  const denial = await readDenial(config.entitlementFile, config.productCode);
  switch (denial.kind) {
    case 'denied':
      return fail({
        code: denial.record.code,
        awsError: denial.record.awsError,
        sticky: true,
        message: `denied earlier in this pod/task (${denial.record.deniedAt || 'time unknown'}): ${scrubSecrets(denial.record.message)}. RegisterUsage is not called again: AWS reports entitlement errors only on the first call`,
      });
    case 'unreadable':
      return fail({
        code: 'DENIAL_RECORD_UNREADABLE',
        message: `${denial.path} ${denial.why}; failing closed without calling RegisterUsage, since a denial recorded there must not be lost by a restart`,
      });
    case 'foreign':
      // Never this product's answer, and its text is not shown: another product's sidecar shares the volume.
      logger.warn(
        { path: denial.path, recordedFor: denial.productCode, productCode: config.productCode },
        `a denial record for another product (${denial.productCode}) is next to the entitlement file; it is not this product's and is ignored`,
      );
      break;
    case 'none':
      break;
  }

  let region: string;
  try {
    const resolved = await resolveRegion({ env, signal });
    region = resolved.region;
    marks.region = performance.now();
    logger.info({ region, source: resolved.source }, 'region resolved');
  } catch (err) {
    if (signal.aborted) return undefined;
    if (!(err instanceof RegionError)) throw err;
    return fail({ code: 'REGION_UNRESOLVED', message: err.message });
  }

  const creds = describeCredentialSource(env);
  if (creds.warning === undefined) logger.info({ credentialSource: creds.source }, `credentials: ${creds.label}`);
  else logger.warn({ credentialSource: creds.source, supported: false }, `credentials: ${creds.label}; ${creds.warning}`);

  const client = deps.createClient?.(region) ?? defaultClient(region, env);
  const policy = { ...DEFAULT_RETRY_POLICY, ...deps.retryPolicy, deadlineMs: config.registerDeadlineMs };
  const startedAt = Date.now();
  // Resolving credentials before the first call separates their cost and failures from the call's.
  const credentials = (client as { config?: { credentials?: () => Promise<unknown> } }).config?.credentials;
  if (credentials !== undefined) {
    try {
      await credentials();
    } catch (err) {
      const c = classifyError(err);
      // A transient failure (STS unreachable, say) is left to the retry loop, which meets it again.
      if (!OUTCOMES[c.code].retryable) return fail({ code: c.code, awsError: c.awsError, message: `credentials: ${c.detail}` });
    }
  }
  marks.credentials = performance.now();
  const result = await registerWithRetry(
    { productCode: config.productCode, publicKeyVersion: config.publicKeyVersion },
    {
      client,
      signal,
      policy,
      onAttempt: (a) => {
        metrics.registerAttempts.inc({ outcome: a.code });
        metrics.registerDuration.observe(a.durationMs / 1000);
        if (a.nextDelayMs !== undefined) {
          const why = a.detail === undefined ? '' : ` (${a.detail})`;
          state.set({ code: a.code, message: `attempt ${a.attempt}: ${a.awsError ?? a.code}${why}; retrying in ${a.nextDelayMs} ms`, awsError: a.awsError });
          logger.warn({ attempt: a.attempt, code: a.code, awsError: a.awsError, retryInMs: a.nextDelayMs }, 'RegisterUsage failed transiently; retrying');
        }
      },
    },
  );
  if (result.kind === 'aborted') return undefined;
  if (result.kind === 'failed') {
    const id = result.requestId === undefined ? '' : ` (request id ${result.requestId})`;
    return fail({ code: result.code, awsError: result.awsError, message: `RegisterUsage: ${result.awsError ?? result.code}: ${result.detail}${id}` });
  }

  marks.registered = performance.now();
  const verifiedAt = new Date();
  let claims;
  try {
    claims = await verifyRegistrationToken(result.signature, config.publicKey.key, {
      productCode: config.productCode,
      publicKeyVersion: config.publicKeyVersion,
      nonce: result.nonce,
    }, { now: verifiedAt });
  } catch (err) {
    if (!(err instanceof TokenVerificationError)) throw err;
    return fail({ code: err.code, message: `the RegisterUsage token was rejected (${err.reason}): ${err.message}` });
  }

  marks.verified = performance.now();

  if (config.usage !== undefined) {
    // Custom-dimension products: MeterUsage must work for every dimension before the app starts.
    const started = await startMetering({
      config: config.usage,
      client,
      productCode: config.productCode,
      logger,
      registry: metrics.registry,
      now: deps.now ?? Date.now,
      backoff: policy,
      attemptTimeoutMs: policy.attemptTimeoutMs,
      ...(deps.usageSendDelayMs === undefined ? {} : { sendDelayMs: deps.usageSendDelayMs }),
      onEvent: podEvent,
      signal,
      // What is left of the register deadline.
      remainingMs: config.registerDeadlineMs - (Date.now() - startedAt),
    });
    if (started === 'aborted') return undefined;
    if (started.kind === 'failed') return fail({ code: started.code, awsError: started.awsError, message: started.message });
    ctx.usage = started.runtime;
    deps.onUsage?.(started.runtime);
  }

  const rotation = result.publicKeyRotationTimestamp;
  const record: EntitlementRecord = {
    productCode: claims.productCode,
    publicKeyVersion: claims.publicKeyVersion,
    nonce: claims.nonce,
    signature: result.signature,
    issuedAt: claims.issuedAt?.toISOString() ?? null,
    verifiedAt: verifiedAt.toISOString(),
    publicKeyRotationTimestamp: rotation?.toISOString() ?? null,
  };
  let kept: string | undefined;
  try {
    await writeEntitlement(config.entitlementFile, record);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    // A full volume must not take away what an earlier run in this pod wrote and the app already reads:
    // the entitlement is verified now, and that file still verifies for this product and key.
    kept = await earlierEntitlement(config);
    if (kept === undefined) return fail({ code: 'ENTITLEMENT_WRITE_FAILED', message: `writing ${config.entitlementFile} failed (${code})` });
    logger.warn(
      { entitlementFile: config.entitlementFile, errno: code, keptFileVerifiedAt: kept },
      `the entitlement file could not be rewritten (${code}); the one an earlier run in this pod wrote stays: it verifies for this product and key`,
    );
  }

  marks.written = performance.now();
  metrics.verifiedTimestamp.set(verifiedAt.getTime() / 1000);
  if (rotation !== undefined) {
    metrics.keyRotationTimestamp.set(rotation.getTime() / 1000);
    logger.warn(
      { publicKeyVersion: config.publicKeyVersion, publicKeyRotationTimestamp: rotation.toISOString() },
      'AWS reports this public key version has expired (PublicKeyRotationTimestamp): the seller must ship a new MARKETPLACE_PUBLIC_KEY_VERSION and key',
    );
  }
  const snapshot = state.set({
    code: 'ENTITLED',
    message:
      `entitled to ${claims.productCode}; token verified with key version ${claims.publicKeyVersion}` +
      (kept === undefined ? '' : `; the file could not be rewritten, the one verified at ${kept} by an earlier run in this pod stays`),
    at: verifiedAt,
    entitlement: {
      productCode: claims.productCode,
      publicKeyVersion: claims.publicKeyVersion,
      issuedAt: record.issuedAt,
      verifiedAt: record.verifiedAt,
      entitlementFile: config.entitlementFile,
    },
    ...(rotation === undefined ? {} : { publicKeyRotationTimestamp: rotation.toISOString() }),
  });
  logger.info(
    {
      status: snapshot.status,
      code: snapshot.code,
      attempts: result.attempts,
      entitlementFile: config.entitlementFile,
      startupMs: startupPhases(marks),
      action: snapshot.action,
    },
    'entitled',
  );
  return snapshot;
}

/** The verifiedAt of an entitlement file an earlier run in this pod wrote, if it verifies for this configuration. */
async function earlierEntitlement(config: SidecarConfig): Promise<string | undefined> {
  try {
    const v = await verifyEntitlementFile(config.entitlementFile, {
      publicKey: config.publicKey.key,
      productCode: config.productCode,
      publicKeyVersion: config.publicKeyVersion,
    });
    return v.verifiedAt || 'an unknown time';
  } catch {
    return undefined;
  }
}

/** Milliseconds spent in each start-up phase, from process start to the entitlement file. */
export function startupPhases(marks: Record<string, number>): Record<string, number> {
  const ms = (a: string, b: string) => Math.round(((marks[b] ?? 0) - (marks[a] ?? 0)) * 10) / 10;
  return {
    modulesAndConfig: Math.round((marks.started ?? 0) * 10) / 10,
    httpServer: ms('started', 'listening'),
    region: ms('listening', 'region'),
    credentialProvider: ms('region', 'credentials'),
    registerUsage: ms('credentials', 'registered'),
    verify: ms('registered', 'verified'),
    writeFile: ms('verified', 'written'),
    total: Math.round((marks.written ?? 0) * 10) / 10,
  };
}
