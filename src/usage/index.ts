import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { UsageConfig } from '../config/settings.js';
import { closeServer, listen } from '../shared/http.js';
import { UsageForwarder, type ForwarderOptions, type ForwarderSummary } from './forwarder.js';
import { attachIntake, createIntakeServer } from './intake.js';
import type { OpenJournalHandle } from './journal-file.js';
import { UsageJournal } from './journal.js';
import { MAX_KEPT_INTAKE_IDS, UsageLedger } from './ledger.js';
import { createUsageMetrics } from './metrics.js';
import { dryRunDimensions } from './dry-run.js';
import { journalLimitsFor, type JournalLimits } from './volume.js';
import type { OutcomeCode } from '../entitlement/outcomes.js';
import { FileRefusedError } from '../shared/regular-file.js';
import { scrubSecrets } from '../shared/scrub.js';

/** Custom-dimension metering: the journal, the app's intake and the hourly forwarder, started together. */

export type UsageOptions = Pick<ForwarderOptions, 'client' | 'productCode' | 'now' | 'backoff' | 'attemptTimeoutMs' | 'onEvent'> & {
  readonly config: UsageConfig;
  readonly logger: Logger;
  readonly registry: Registry;
  /** How long after an hour closes its records are sent (default two minutes). */
  readonly sendDelayMs?: number;
  /** The intake's listener, already bound (the sidecar binds it at start); default: bind one here. */
  readonly server?: Server;
  /** Test hooks: the journal's bound (default: from the volume's size, volume.ts) and its file opener. */
  readonly journalLimits?: JournalLimits;
  readonly openJournalHandle?: OpenJournalHandle;
};

export interface UsageRuntime {
  readonly address: AddressInfo;
  readonly ledger: UsageLedger;
  readonly forwarder: UsageForwarder;
  /** Stops the intake, sends everything (the current hour included) until `deadline`; returns what is left. Never throws. */
  stop(deadline: number): Promise<ForwarderSummary>;
}

export const DEFAULT_SEND_DELAY_MS = 2 * 60_000;

export async function startUsage(o: UsageOptions): Promise<UsageRuntime> {
  const logger = o.logger.child({ module: 'usage' });
  const limits = o.journalLimits ?? (await journalLimitsFor(dirname(o.config.journalFile)));
  const ledger = new UsageLedger({ maxIntakeIds: MAX_KEPT_INTAKE_IDS, maxIntakeIdBytes: limits.intakeIdBytes });
  const journal = await UsageJournal.open({
    path: o.config.journalFile,
    ledger,
    logger,
    dimensions: o.config.dimensions,
    limits,
    ...(o.openJournalHandle === undefined ? {} : { openHandle: o.openJournalHandle }),
  });
  const metrics = createUsageMetrics(o.registry, o.config.dimensions);
  metrics.refreshPending(ledger);
  metrics.journalBytes.set(journal.size);
  const intakeDeps = { dimensions: o.config.dimensions, ledger, journal, metrics, logger, now: o.now };
  let intake: Server;
  let address: AddressInfo;
  if (o.server !== undefined) {
    // Bound at start (so a bad ENTITLEMENT_USAGE_LISTEN never got as far as AWS); it gets its handler now.
    intake = o.server;
    attachIntake(intake, intakeDeps);
    address = intake.address() as AddressInfo;
  } else {
    intake = createIntakeServer(intakeDeps);
    try {
      address = await listen(intake, o.config.listen, { setting: 'ENTITLEMENT_USAGE_LISTEN', loopbackOnly: true });
    } catch (err) {
      await journal.close();
      throw err;
    }
  }
  const forwarder = new UsageForwarder({
    ledger,
    journal,
    client: o.client,
    productCode: o.productCode,
    logger,
    metrics,
    now: o.now,
    backoff: o.backoff,
    attemptTimeoutMs: o.attemptTimeoutMs,
    sendDelayMs: o.sendDelayMs ?? DEFAULT_SEND_DELAY_MS,
    ...(o.onEvent === undefined ? {} : { onEvent: o.onEvent }),
  });
  // A journal from before a restart may hold records that are due already.
  await forwarder.tick();
  forwarder.start();
  logger.info(
    {
      dimensions: o.config.dimensions,
      listen: `${address.address}:${address.port}`,
      journal: o.config.journalFile,
      journalBytes: journal.size,
      journalMaxBytes: limits.maxBytes,
      pendingUnits: Object.fromEntries(ledger.pendingUnits()),
    },
    'usage intake listening',
  );
  return {
    address,
    ledger,
    forwarder,
    async stop(deadline: number) {
      await closeServer(intake).catch((err: unknown) => logger.warn({ err }, 'closing the usage intake failed'));
      const summary = await forwarder.drain(deadline, (ms) => sleep(ms));
      await journal.close().catch((err: unknown) => logger.warn({ err }, 'closing the usage journal failed'));
      logStopSummary(logger, summary);
      return summary;
    },
  };
}

/** Every shutdown says what AWS has not recorded, per dimension; "all usage sent" only when that is true. */
function logStopSummary(logger: Logger, s: ForwarderSummary): void {
  const units = Object.values(s.unsentUnits).reduce((a, b) => a + b, 0);
  const fields = { unsentUnits: s.unsentUnits, unsettledRecords: s.unsettledRecords, unjournaledResults: s.unjournaledResults };
  if (units > 0) {
    logger.error(
      fields,
      `stopping with ${units} usage units not recorded by AWS; they stay in the journal for a sidecar restarted in this pod (a record holds at most 2147483647 units per dimension and hour, the rest waits for the next hour), and are lost if the pod ends`,
    );
  } else if (s.unjournaledResults > 0) {
    logger.warn(
      fields,
      'all usage reached AWS, but some results could not be journaled; a sidecar restarted in this pod resends those records with their ClientToken, which AWS answers idempotently',
    );
  } else {
    logger.info(fields, 'all usage sent');
  }
}

/**
 * What a custom-dimension product needs before its app may start: a MeterUsage dry run of every
 * dimension (as AWS asks), then the journal, the intake and the forwarder. A refusal is an outcome.
 */
export async function startMetering(
  o: UsageOptions & { readonly signal: AbortSignal; readonly remainingMs: number },
): Promise<'aborted' | { kind: 'started'; runtime: UsageRuntime } | { kind: 'failed'; code: OutcomeCode; awsError?: string; message: string }> {
  const dry = await dryRunDimensions({
    client: o.client,
    productCode: o.productCode,
    dimensions: o.config.dimensions,
    signal: o.signal,
    policy: { ...o.backoff, attemptTimeoutMs: o.attemptTimeoutMs, deadlineMs: o.remainingMs },
    now: o.now,
  });
  if (dry === 'aborted') return 'aborted';
  if (!dry.ok) {
    const code = dry.transient ? 'DEADLINE_EXCEEDED' : dry.awsError === 'InvalidUsageDimensionException' ? 'USAGE_DIMENSION_INVALID' : 'METERING_DRY_RUN_FAILED';
    return { kind: 'failed', code, awsError: dry.awsError, message: `MeterUsage dry run for dimension "${dry.dimension}": ${dry.awsError}: ${scrubSecrets(dry.detail)}` };
  }
  try {
    return { kind: 'started', runtime: await startUsage(o) };
  } catch (err) {
    const { journalFile, listen } = o.config;
    if (err instanceof FileRefusedError) {
      // Something other than the journal is at its path (a link, a FIFO, a device, a directory): it is
      // neither followed nor replaced, because what it is and whose usage it holds are unknown.
      return { kind: 'failed', code: 'USAGE_UNAVAILABLE', message: `the usage journal was refused: ${err.message}; nothing was read or written through it. Remove it from the volume, then restart the sidecar` };
    }
    const why = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    return { kind: 'failed', code: 'USAGE_UNAVAILABLE', message: `the usage journal ${journalFile} or intake ${listen.host}:${listen.port} could not start (${why})` };
  }
}
