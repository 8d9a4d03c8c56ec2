import { defaultProvider } from '@aws-sdk/credential-provider-node';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { createMeteringClient, describeEndpoint, meteringEndpointOverride, type AwsClients } from '../aws/clients.js';
import { licenseManagerEndpointOverride } from '../aws/license-manager-model.js';
import type { AwsCredentials } from '../aws/credentials.js';
import { DEFAULT_RETRY_POLICY } from '../aws/retry.js';
import type { SidecarConfig } from '../config/settings.js';
import { AWS_MARKETPLACE_KEY_FINGERPRINT } from '../entitlement/license-constants.js';
import type { Observer, Snapshot } from '../entitlement/status.js';
import { startKubernetesStatus, type KubernetesStatus } from '../k8s/index.js';
import { closeServer, listen } from '../shared/http.js';
import type { Now } from '../shared/time.js';
import type { UsageRuntime } from '../usage/index.js';
import { lazyMetrics, type Metrics } from './lazy-metrics.js';
import { createProbeServer } from './probe-server.js';
import { registerUsageSource } from './register-usage-source.js';
import { EntitlementState } from './state.js';
import type { EntitlementSource, Watch, WatchEvents } from './source.js';
import { announceEntitled, decide, settle, sourceContext, writeEntitlementFile, type Run, type Tuning } from './steps.js';

/**
 * The sidecar: wires the probe server, metrics, Kubernetes status and the entitlement source together,
 * runs the start-up steps (steps.ts) once, serves the answer until stopped, then drains usage and stops.
 */

export interface SidecarDeps {
  readonly config: SidecarConfig;
  /** The environment the AWS settings (region, endpoint, credentials) and the pod's identity are read from. */
  readonly env: NodeJS.ProcessEnv;
  readonly logger: Logger;
  /** Aborted on SIGTERM/SIGINT: stops retries, drains usage, closes the server. */
  readonly signal: AbortSignal;
  readonly version: string;
  /** The sidecar's one clock (ms): status times, token verification, usage hours. Default Date.now. */
  readonly now?: Now;
  /** The AWS clients; default the real SDK clients with the default credential chain. */
  readonly aws?: AwsClients;
  /** Backoffs and delays; tests shorten them. */
  readonly tuning?: Partial<Tuning>;
  /** Prefix of the well-known paths the sidecar reads (the service-account directory); tests point it at a temporary tree. */
  readonly fileRoot?: string;
  /** Told of every status change, from the first. */
  readonly observers?: readonly Observer[];
}

export interface Sidecar {
  /** Where the probe server listens. */
  readonly address: AddressInfo;
  readonly state: EntitlementState;
  /** The first outcome; undefined when stopped before one. */
  readonly decided: Promise<Snapshot | undefined>;
  /** Usage metering, once it runs (only with MARKETPLACE_USAGE_DIMENSIONS). */
  usage(): UsageRuntime | undefined;
  /** Resolves with the last answer once the sidecar has stopped (after `signal` aborts). */
  readonly stopped: Promise<Snapshot>;
}

/**
 * How long SIGTERM may take. Without usage metering, 2 s. With it, the pod's current hour is sent
 * first, for up to USAGE_DRAIN_MS: within Kubernetes' default 30 s grace period and ECS's stopTimeout
 * of 30 s set in ecs/task-definition.json.
 */
export const USAGE_DRAIN_MS = 20_000;
/** A contract product's seat is checked in at stop: this long at most, within the same grace periods. */
export const CHECK_IN_ON_STOP_MS = 4000;
export function stopBudgetMs(config: Pick<SidecarConfig, 'usage' | 'source'>): number {
  if (config.usage !== undefined) return USAGE_DRAIN_MS + 2000;
  return config.source.kind === 'license-manager' ? CHECK_IN_ON_STOP_MS + 2000 : 1800;
}

/**
 * The entitlement source the configuration names. A contract product's code (License Manager's SDK
 * client among it) is loaded only for a contract product: an hourly product's start does not pay for it.
 */
export async function loadSource(config: SidecarConfig): Promise<EntitlementSource> {
  const s = config.source;
  if (s.kind === 'register-usage') return registerUsageSource({ productCode: s.productCode, publicKeyVersion: s.publicKeyVersion, publicKey: s.publicKey.key });
  const { licenseManagerSource } = await import('./license-manager-source.js');
  return licenseManagerSource(s);
}

const KUBERNETES_FLUSH_ON_STOP_MS = 1000;

/** The default chain first; when it finds nothing (no IRSA, task role or keys: outside AWS), the license token. */
async function withLicenseToken(chain: () => Promise<AwsCredentials>, env: NodeJS.ProcessEnv, anywhere: { licenseTokenDir: string; now: Now }): Promise<() => Promise<AwsCredentials>> {
  const { licenseTokenCredentials } = await import('../aws/anywhere-credentials.js');
  const region = env.AWS_REGION || env.AWS_DEFAULT_REGION || '';
  const token = licenseTokenCredentials({ dir: anywhere.licenseTokenDir, region, env, now: anywhere.now, ...(env.POD_NAME ? { sessionName: env.POD_NAME } : {}) });
  let useToken = false;
  return async () => {
    if (useToken) return token();
    try {
      return await chain();
    } catch (err) {
      if ((err as { name?: string }).name !== 'CredentialsProviderError') throw err;
      useToken = true;
      return token();
    }
  };
}

/**
 * The real AWS clients: one credential chain shared by every client. It is the SDK's default chain
 * (IRSA, the task role, ...); for a contract product with the buyer's license Secret mounted, the
 * license token comes after it, as AWS's credential-provider sample orders them, so the same image
 * works on AWS and off it. License Manager's client is loaded only for a contract product.
 */
export async function defaultAwsClients(
  env: NodeJS.ProcessEnv,
  source: SidecarConfig['source']['kind'],
  anywhere?: { licenseTokenDir: string; now: Now },
): Promise<AwsClients> {
  const chain = defaultProvider();
  const credentials = anywhere === undefined ? chain : await withLicenseToken(chain, env, anywhere);
  const metering = (region: string) => createMeteringClient(region, env, credentials);
  if (source === 'register-usage') {
    return {
      credentials,
      metering,
      licenseManager: () => {
        throw new Error('an hourly product (ENTITLEMENT_SOURCE=register-usage) does not use License Manager');
      },
    };
  }
  const { createLicenseManagerClient } = await import('../aws/license-manager.js');
  const licenseManagers = new Map<string, ReturnType<typeof createLicenseManagerClient>>();
  return {
    credentials,
    metering,
    licenseManager: (region) => {
      let client = licenseManagers.get(region);
      if (client === undefined) licenseManagers.set(region, (client = createLicenseManagerClient(region, env, credentials)));
      return client;
    },
  };
}

/** What `run` and `register` set up alike before the steps: the answer, its metrics, its Kubernetes status. */
export interface Observed {
  readonly state: EntitlementState;
  readonly metrics: Metrics;
  readonly kubernetes: KubernetesStatus;
}

/**
 * The answer and who is told of it: the metrics (loaded once there is a first answer when `loadMetrics`,
 * never otherwise), the pod's Events and condition, and the caller's observers.
 */
export function observeStart(deps: SidecarDeps, options: { readonly loadMetrics: boolean }): Observed {
  const { config, logger } = deps;
  const now = deps.now ?? Date.now;
  const state = new EntitlementState(now, config.source.kind === 'license-manager' ? 'CheckoutLicense' : 'RegisterUsage');
  // prom-client is loaded once start-up has a first answer (or /metrics is asked), not before the call.
  const metrics = lazyMetrics(deps.version);
  let loadAsked = !options.loadMetrics;
  state.subscribe((s) => {
    metrics.record((m) => m.setStatus(s.status));
    if (loadAsked) return;
    loadAsked = true;
    metrics.load().catch((err: unknown) => logger.error({ err }, 'the metrics could not be loaded; /metrics will fail'));
  });
  // Events and the readiness-gate condition: asynchronous, so the Kubernetes API never decides or delays.
  const kubernetes = startKubernetesStatus({
    mode: config.kubernetesStatus,
    env: deps.env,
    logger,
    metrics: { record: (fn) => metrics.record((m) => fn(m.kubernetes)) },
    now: () => new Date(now()),
    ...(deps.fileRoot === undefined ? {} : { serviceAccountPrefix: deps.fileRoot }),
    ...(deps.tuning?.kubernetesRequestTimeoutMs === undefined ? {} : { requestTimeoutMs: deps.tuning.kubernetesRequestTimeoutMs }),
  });
  state.subscribe(kubernetes.observer);
  for (const observer of deps.observers ?? []) state.subscribe(observer);
  return { state, metrics, kubernetes };
}

/** What one run of the start-up steps shares (steps.ts): the AWS clients and the source are loaded here. */
export async function prepareRun(
  deps: SidecarDeps,
  observed: Observed,
  parts: { readonly marks: Run['marks']; readonly anywhere: string | undefined; readonly intake: Run['intake'] },
): Promise<Run> {
  const now = deps.now ?? Date.now;
  const { anywhere } = parts;
  return {
    config: deps.config,
    env: deps.env,
    logger: deps.logger,
    signal: deps.signal,
    now,
    aws: deps.aws ?? (await defaultAwsClients(deps.env, deps.config.source.kind, anywhere === undefined ? undefined : { licenseTokenDir: anywhere, now })),
    anywhere,
    tuning: { retry: DEFAULT_RETRY_POLICY, ...deps.tuning },
    source: await loadSource(deps.config),
    state: observed.state,
    metrics: observed.metrics,
    podEvent: observed.kubernetes.event,
    marks: parts.marks,
    startedAt: now(),
    intake: parts.intake,
  };
}

export async function startSidecar(deps: SidecarDeps): Promise<Sidecar> {
  const { config, logger, signal } = deps;
  const now = deps.now ?? Date.now;
  // performance.now() counts from process start, so the first mark covers module loading and config.
  const marks: Run['marks'] = { started: performance.now() };
  // Outside AWS (a contract product with the buyer's license Secret mounted) there is no instance
  // metadata: neither the region lookup nor the SDK's chain waits on IMDS timeouts. The SDK's chain
  // reads this from the process environment, which is `env` in production.
  const anywhere =
    config.source.kind === 'license-manager' && (await import('../aws/anywhere-credentials.js')).licenseTokenMounted(config.source.licenseTokenDir)
      ? config.source.licenseTokenDir
      : undefined;
  if (anywhere !== undefined && (deps.env.AWS_EC2_METADATA_DISABLED ?? '') === '') deps.env.AWS_EC2_METADATA_DISABLED = 'true';
  const observed = observeStart(deps, { loadMetrics: true });
  const { state, metrics, kubernetes } = observed;

  const server = createProbeServer({ state, metrics, logger: logger.child({ module: 'http' }) });
  const address = await listen(server, config.listen, { setting: 'ENTITLEMENT_LISTEN' });
  // The usage intake is bound now too, before anything is asked of AWS: a listen address that cannot be
  // used is a configuration error. It answers 503 until metering runs.
  const intake = config.usage === undefined ? undefined : (await import('../usage/intake.js')).startingIntakeServer();
  if (intake !== undefined && config.usage !== undefined) {
    try {
      await listen(intake, config.usage.listen, { setting: 'ENTITLEMENT_USAGE_LISTEN', loopbackOnly: true });
    } catch (err) {
      await closeServer(server);
      throw err;
    }
  }
  marks.listening = performance.now();
  logStart(deps, `${address.address}:${address.port}`);

  const run = await prepareRun(deps, observed, { marks, anywhere, intake });
  let usage: UsageRuntime | undefined;
  let watch: Watch | undefined;
  let region: string | undefined;
  const decision = decide(run).then((d) => {
    usage = d?.usage;
    region = d?.region;
    // A source that keeps the entitlement current (License Manager) watches from here on.
    if (d !== undefined && region !== undefined && run.source.watch !== undefined && !signal.aborted) {
      watch = run.source.watch(sourceContext(run, region), d.entitlement, watchEvents(run));
    }
    return d;
  });
  const stopped = (async () => {
    try {
      await decision;
      if (!signal.aborted) await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
    } finally {
      await watch?.stop();
      // What the source took (a seat) goes back, and the pod's current hour of usage goes out, before the probe server closes.
      if (region !== undefined) await run.source.release?.(sourceContext({ ...run, signal: new AbortController().signal }, region), now() + CHECK_IN_ON_STOP_MS);
      if (usage !== undefined) await usage.stop(now() + USAGE_DRAIN_MS);
      else if (intake !== undefined) await closeServer(intake);
      await closeServer(server);
      // Give the last Event and condition a moment to land, within the 2 s SIGTERM budget.
      await Promise.race([kubernetes.flush(), sleep(KUBERNETES_FLUSH_ON_STOP_MS, undefined, { ref: false })]);
    }
    logger.info({ status: state.current.status, code: state.current.code }, 'entitlement sidecar stopped');
    return state.current;
  })();
  const decided = decision.then((d) => d?.snapshot);
  // An unexpected failure surfaces through `stopped`; `decided` rejects too, for whoever awaits it.
  decided.catch(() => undefined);
  return { address, state, decided, usage: () => usage, stopped };
}

/** Runs the sidecar until `signal` aborts; resolves with the last answer. */
export async function runSidecar(deps: SidecarDeps): Promise<Snapshot> {
  return (await startSidecar(deps)).stopped;
}

/**
 * What a source's watch reports, made visible: the file rewritten (atomically, as at start), /healthz,
 * metrics, a log line and, through the observers, an Event and the condition. A repeat of the same
 * outcome is only logged: the first Event said it.
 */
function watchEvents(run: Run): WatchEvents {
  const { logger, state, config } = run;
  return {
    async entitled(entitlement) {
      const written = await writeEntitlementFile(run, entitlement);
      if (written.kind === 'outcome') await settle(run, written.outcome);
      else announceEntitled(run, entitlement, written.value);
    },
    async refreshed(entitlement) {
      const written = await writeEntitlementFile(run, entitlement);
      if (written.kind === 'outcome') await settle(run, written.outcome);
      else state.refresh({ ...entitlement.summary, entitlementFile: config.entitlementFile });
    },
    async stale(entitlement, why, until) {
      await writeEntitlementFile(run, entitlement);
      state.set({
        code: 'LICENSE_STALE',
        message: `${why}; the license checked at ${entitlement.summary.source === 'license-manager' ? entitlement.summary.checkedAt : '?'} stays in force until ${until.toISOString()}`,
        entitlement: { ...entitlement.summary, entitlementFile: config.entitlementFile },
      });
    },
    async lost(reason) {
      if (state.current.code === reason.code && state.current.status !== 'entitled') {
        logger.info({ code: reason.code }, `still not entitled: ${reason.message}`);
        return;
      }
      await settle(run, reason);
    },
  };
}

/** The effective configuration, once, secrets left out on purpose (keys by their fingerprints only). `listening`: the probe server's address (none in init mode). */
export function logStart(deps: Pick<SidecarDeps, 'config' | 'env' | 'logger' | 'version'>, listening: string | undefined): void {
  const { config } = deps;
  const s = config.source;
  const source =
    s.kind === 'register-usage'
      ? {
          source: s.kind,
          productCode: s.productCode,
          publicKeyVersion: s.publicKeyVersion,
          publicKey: { source: s.publicKeySource, bits: s.publicKey.bits, fingerprint: s.publicKey.fingerprint },
          trustedProductCodes: s.trustedProductCodes,
          endpointOverride: describeEndpoint(meteringEndpointOverride(deps.env)),
        }
      : {
          source: s.kind,
          productSku: s.productSku,
          trustedProductSkus: s.trustedProductSkus,
          licenseEntitlements: s.entitlements.map((e) => `${e.name}:${e.unit}${e.value === undefined ? '' : `:${e.value}`}`),
          checkoutType: s.checkoutType,
          keyFingerprint: AWS_MARKETPLACE_KEY_FINGERPRINT,
          licenseCheckIntervalMs: s.checkIntervalMs,
          licenseGraceMs: s.graceMs,
          signedTokenKey: s.signingKey === undefined ? undefined : { source: s.signingKey.source, fingerprint: s.signingKey.key.fingerprint },
          endpointOverride: describeEndpoint(licenseManagerEndpointOverride(deps.env)),
        };
  deps.logger.info(
    {
      version: deps.version,
      ...source,
      entitlementFile: config.entitlementFile,
      ...(listening === undefined ? { mode: 'init' } : { listen: listening }),
      registerDeadlineMs: config.registerDeadlineMs,
      kubernetesStatus: config.kubernetesStatus,
      usage: config.usage === undefined ? undefined : { dimensions: config.usage.dimensions, journal: config.usage.journalFile },
    },
    'entitlement sidecar starting',
  );
  const lmEndpoint = s.kind === 'license-manager' ? licenseManagerEndpointOverride(deps.env) : undefined;
  if (s.kind === 'license-manager' && s.signingKey === undefined && lmEndpoint !== undefined) {
    // Without a SignedToken key, nothing in License Manager's answers proves where they came from but TLS to AWS.
    deps.logger.warn(
      { endpoint: describeEndpoint(lmEndpoint) },
      'the license is checked at an overridden endpoint, not AWS License Manager, and licenses are not signed: nothing tells its answers from a real license; production pods must not set AWS_ENDPOINT_URL_LICENSE_MANAGER',
    );
  }
}
