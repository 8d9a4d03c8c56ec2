import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SidecarConfig } from '../config/settings.js';
import type { Status } from '../entitlement/outcomes.js';
import type { Snapshot } from '../entitlement/status.js';
import { logStart, observeStart, prepareRun, type SidecarDeps } from './run.js';
import { decide, type Run } from './steps.js';

/**
 * Init mode (`entitlement-sidecar register`): the sidecar's start-up, once, then exit. For an hourly
 * product without usage metering nothing needs to keep running: AWS's metering control plane bills
 * the running task or pod from the one RegisterUsage call on. It does everything `run` does up to
 * the outcome (a recorded denial, the region, the credentials, RegisterUsage, verification, the file,
 * the sticky denial, the pod Event and condition), with no probe server, metrics endpoint or watch.
 */

/** Why this configuration needs a running process, or undefined when init mode can serve it. */
export function initModeRefusal(config: Pick<SidecarConfig, 'usage' | 'source'>): string | undefined {
  if (config.source.kind === 'license-manager') {
    return 'ENTITLEMENT_SOURCE=license-manager needs a running sidecar (it holds a seat, extends it and checks the license every interval): use `run`, not `register`';
  }
  if (config.usage !== undefined) {
    return 'MARKETPLACE_USAGE_DIMENSIONS is set: usage metering needs a running sidecar (it takes usage from the app and sends it every hour): use `run`, not `register`, or unset it';
  }
  return undefined;
}

/**
 * The exit code of `register`, per outcome. Documented in the README; a restart policy, `kubectl
 * describe pod` and an ECS `dependsOn: SUCCESS` all read it. 1 (an unexpected error) and 2 (invalid
 * configuration) are the CLI's for every command.
 */
export const REGISTER_EXIT_CODES: Readonly<Record<Exclude<Status, 'pending'>, number>> = Object.freeze({
  entitled: 0,
  not_entitled: 3,
  platform_not_supported: 4,
  misconfigured: 5,
  failed: 6,
});
/** Stopped by SIGTERM/SIGINT before an outcome: 128 + the signal's number, as a shell reports it. */
export const SIGNAL_EXIT_CODES: Readonly<Record<'SIGTERM' | 'SIGINT', number>> = Object.freeze({ SIGTERM: 143, SIGINT: 130 });

/** Before exiting, the Event and the condition get this long to reach the API server. */
export const KUBERNETES_FLUSH_ON_EXIT_MS = 5000;

export interface RegisterDeps extends SidecarDeps {
  /** How long the Event and condition may take to land before exit; default KUBERNETES_FLUSH_ON_EXIT_MS. */
  readonly kubernetesFlushMs?: number;
}

/** The outcome, or undefined when stopped (signal) before one. Never leaves anything running. */
export async function registerOnce(deps: RegisterDeps): Promise<Snapshot | undefined> {
  const { config, logger } = deps;
  const refusal = initModeRefusal(config);
  if (refusal !== undefined) throw new Error(refusal);
  const marks: Run['marks'] = { started: performance.now() };
  // Nothing scrapes an init container: the metrics the steps record are never loaded (no prom-client).
  const observed = observeStart(deps, { loadMetrics: false });
  const { kubernetes } = observed;
  marks.listening = performance.now();
  logStart(deps, undefined);
  const run = await prepareRun(deps, observed, { marks, anywhere: undefined, intake: undefined });
  try {
    const decision = await decide(run);
    return decision?.snapshot;
  } finally {
    // An init container's Event and condition are all it leaves besides its exit code: wait for them,
    // within a bound, so an unreachable API server cannot hold the pod in Init.
    const bound = deps.kubernetesFlushMs ?? KUBERNETES_FLUSH_ON_EXIT_MS;
    const flushed = await Promise.race([kubernetes.flush().then(() => true), sleep(bound, false, { ref: false })]);
    if (!flushed) logger.warn({ waitedMs: bound }, 'the pod Event and condition had not reached the Kubernetes API when register exited');
  }
}

/** What `kubectl describe pod` shows as the init container's termination message. */
export function terminationMessage(snapshot: Snapshot | undefined, stoppedBy?: string): string {
  if (snapshot === undefined) return `stopped by ${stoppedBy ?? 'a signal'} before RegisterUsage had an outcome; nothing was recorded`;
  const action = snapshot.status === 'entitled' ? '' : ` Action: ${snapshot.action}`;
  return `${snapshot.status} (${snapshot.code}): ${snapshot.message.replace(/\.$/, '')}.${action}`;
}
