import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { jsonAnswer, readBody, writeAnswer } from '../shared/http.js';
import type { JournalLine, Tags, UsageLedger } from './ledger.js';
import { JournalFullError, type UsageJournal } from './journal.js';
import type { UsageMetrics } from './metrics.js';
import { isIntakeId, isPlainObject, isQuantity, MAX_QUANTITY, tagProblems, unknownKeys } from './rules.js';

/**
 * The app's usage intake: `POST /v1/usage` on a loopback listener of its own. A 202 means the report is
 * in the journal and fsynced: it will reach AWS exactly once even if the sidecar is killed right after.
 * A 200 duplicate means a report with that `id` is durable already. A 503 means nothing was recorded:
 * the journal is full (its bound, volume.ts) or could not be written.
 */

export const USAGE_PATH = '/v1/usage';
const MAX_BODY_BYTES = 16 * 1024;
/** What a 503 asks the app to wait before reporting again: the forwarder compacts every few seconds. */
const RETRY_AFTER_SECONDS = 30;

export interface UsageReport {
  readonly dimension: string;
  readonly quantity: number;
  readonly tags: Tags | undefined;
  readonly id: string | undefined;
}

/** Validates a report; returns the problems, each naming the field and what is allowed. */
export function validateReport(body: unknown, dimensions: readonly string[]): UsageReport | { problems: string[] } {
  if (!isPlainObject(body)) return { problems: ['the body must be a JSON object'] };
  const b = body;
  const problems: string[] = [];
  for (const key of unknownKeys(b, ['dimension', 'quantity', 'tags', 'id'])) problems.push(`"${key}" is not a field; fields: dimension, quantity, tags, id`);
  if (typeof b.dimension !== 'string' || !dimensions.includes(b.dimension)) {
    problems.push(`dimension must be one of: ${dimensions.join(', ')}`);
  }
  if (!isQuantity(b.quantity)) problems.push(`quantity must be an integer from 0 to ${MAX_QUANTITY}`);
  if (b.tags !== undefined) problems.push(...tagProblems(b.tags));
  if (b.id !== undefined && !isIntakeId(b.id)) {
    problems.push('id, when given, must be a string of 1-128 characters (an idempotency key: a report with a seen id is not counted again)');
  }
  if (problems.length > 0) return { problems };
  return { dimension: b.dimension as string, quantity: b.quantity as number, tags: b.tags as Tags | undefined, id: b.id as string | undefined };
}

export interface IntakeDeps {
  readonly dimensions: readonly string[];
  readonly ledger: UsageLedger;
  readonly journal: UsageJournal;
  readonly metrics: UsageMetrics;
  readonly logger: Logger;
  readonly now: () => number;
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  writeAnswer(res, jsonAnswer(status, body));
}

export type IntakeOutcome = 'accepted' | 'duplicate' | { readonly refused: 'journal_full' | 'write_failed'; readonly code: string };

/** Records a valid report in the journal; what the app is answered follows from the outcome. */
export function createRecorder(deps: Pick<IntakeDeps, 'ledger' | 'journal' | 'now'>): (report: UsageReport) => Promise<IntakeOutcome> {
  /**
   * Ids being written right now, with whether their write became durable. A retry that races the
   * original waits for it: durable, the retry is a duplicate; failed, nothing was recorded, so the
   * retry is written itself. It is never called a duplicate of something unrecorded.
   */
  const inFlight = new Map<string, Promise<boolean>>();

  return async (report: UsageReport): Promise<IntakeOutcome> => {
    const { id } = report;
    if (id !== undefined) {
      for (;;) {
        if (deps.ledger.hasIntakeId(id)) return 'duplicate';
        const earlier = inFlight.get(id);
        if (earlier === undefined) break;
        if (await earlier) return 'duplicate';
        if (inFlight.get(id) === earlier) inFlight.delete(id);
      }
    }
    const line: JournalLine = {
      k: 'u',
      at: deps.now(),
      d: report.dimension,
      q: report.quantity,
      ...(report.tags === undefined ? {} : { t: report.tags }),
      ...(id === undefined ? {} : { id }),
    };
    // Nothing awaits between the check above and this: the next post with this id finds it in flight.
    const write = deps.journal.append([line], 'intake');
    if (id !== undefined) {
      const durable = write.then(() => true, () => false);
      inFlight.set(id, durable);
      void durable.then(() => {
        if (inFlight.get(id) === durable) inFlight.delete(id);
      });
    }
    try {
      await write;
      return 'accepted';
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      return { refused: err instanceof JournalFullError ? 'journal_full' : 'write_failed', code };
    }
  };
}

function intakeHandler(deps: IntakeDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const record = createRecorder(deps);
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== USAGE_PATH) return reply(res, 404, { error: `not found; POST usage to ${USAGE_PATH}` });
    if (req.method === 'GET') {
      const pending = Object.fromEntries(deps.ledger.pendingUnits());
      return reply(res, 200, { dimensions: deps.dimensions, pendingUnits: pending, unsettledRecords: deps.ledger.unsettled().length });
    }
    if (req.method !== 'POST') {
      res.setHeader('allow', 'GET, POST');
      return reply(res, 405, { error: 'method not allowed; POST a report' });
    }
    const raw = await readBody(req, MAX_BODY_BYTES);
    if (raw === undefined) return reply(res, 413, { error: `the body must be at most ${MAX_BODY_BYTES} bytes` });
    const text = raw.toString('utf8');
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return reply(res, 400, { error: 'the body is not JSON', example: { dimension: deps.dimensions[0], quantity: 12, tags: { team: 'a' } } });
    }
    const report = validateReport(body, deps.dimensions);
    if ('problems' in report) return reply(res, 400, { error: report.problems.join('; '), problems: report.problems });
    const outcome = await record(report);
    if (outcome === 'duplicate') return reply(res, 200, { accepted: true, duplicate: true });
    if (outcome !== 'accepted') {
      // The journal logs when refusing starts and stops; one line per refused report would flood the log.
      deps.metrics.refused.inc({ reason: outcome.refused });
      deps.logger.debug({ dimension: report.dimension, reason: outcome.refused, code: outcome.code }, 'usage report refused');
      res.setHeader('retry-after', String(RETRY_AFTER_SECONDS));
      const why =
        outcome.refused === 'journal_full'
          ? 'the usage journal is full until records already taken are sent and compacted'
          : `the usage journal could not be written (${outcome.code})`;
      return reply(res, 503, { error: `${why}; nothing was recorded, report again later`, reason: outcome.refused });
    }
    deps.metrics.accepted.inc({ dimension: report.dimension }, report.quantity);
    return reply(res, 202, { accepted: true });
  };
  return (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((err: unknown) => {
      deps.logger.error({ err }, 'usage intake failed');
      if (!res.headersSent) reply(res, 500, { error: 'internal error; nothing was recorded' });
    });
  };
}

/** The intake on its own new server (tests, and a sidecar that did not bind it beforehand). */
export function createIntakeServer(deps: IntakeDeps): Server {
  return createServer(intakeHandler(deps));
}

/**
 * A listener bound at start, before registration, so a bad ENTITLEMENT_USAGE_LISTEN is a configuration
 * error and nothing is called: until metering runs it answers 503 ("starting"), then `attachIntake`
 * gives it the real handler.
 */
export function startingIntakeServer(): Server {
  return createServer((_req, res) => {
    writeAnswer(res, jsonAnswer(503, { error: 'usage metering is starting; nothing was recorded, report again shortly', reason: 'starting' }, { 'retry-after': '1' }));
  });
}

export function attachIntake(server: Server, deps: IntakeDeps): void {
  server.removeAllListeners('request');
  server.on('request', intakeHandler(deps));
}
