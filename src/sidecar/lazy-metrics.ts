import type { Recorder } from '../k8s/metrics.js';
import type { SidecarMetrics } from './metrics.js';

/**
 * The sidecar's metrics, loaded when first needed rather than at start: prom-client and its registry
 * take about 20 ms to load, as much as the RegisterUsage round trip, and nothing reads them before the
 * first outcome. Until they are loaded, what is recorded is queued, in order, and replayed onto them;
 * `run` loads them once start-up has an outcome (or when /metrics is first asked), `register` (init
 * mode, nothing to scrape) never does.
 */
export interface Metrics extends Recorder<SidecarMetrics> {
  /** Loads prom-client and the metrics (once) and replays what was recorded meanwhile. */
  load(): Promise<SidecarMetrics>;
}

/** Enough for a start-up that waits on a throttled RegisterUsage for its 30 minutes: a few records per attempt. */
const MAX_QUEUED = 10_000;

export function lazyMetrics(version: string): Metrics {
  let loaded: SidecarMetrics | undefined;
  let loading: Promise<SidecarMetrics> | undefined;
  let queue: Array<(metrics: SidecarMetrics) => void> = [];
  return {
    // At once when they are loaded, else once they are. Never loads them.
    record(fn) {
      if (loaded !== undefined) fn(loaded);
      // A gauge's last value and a counter's increments are what matter; beyond the bound the oldest go.
      else if (queue.push(fn) > MAX_QUEUED) queue.shift();
    },
    load() {
      loading ??= import('./metrics.js').then(({ createMetrics }) => {
        const metrics = createMetrics(version);
        for (const fn of queue) fn(metrics);
        queue = [];
        loaded = metrics;
        return metrics;
      });
      return loading;
    },
  };
}
