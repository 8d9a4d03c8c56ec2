#!/usr/bin/env node
// node bench/journal-growth.mjs (after npm run build): the figures behind the usage journal's bound and
// the chart's entitlementVolume.sizeLimit (README, "Usage metering").
//   1. bytes per report, as the intake journals it, for the shapes of report an app sends;
//   2. a simulated hour (and the next hour's send) at --rate reports per second through the real intake
//      over loopback HTTP, with the forwarder ticking every simulated second: the journal's largest size,
//      the largest journal + compaction copy on the volume at once, compactions and their time, and
//      whether any report was refused (503).
// The clock is simulated (an hour takes about a minute); MeterUsage is answered by a stub client that
// records nothing (this measures the journal, not AWS). Files go to a temporary directory.
// Options: --rate N (default 54, the figure), --seconds N (default 3600), --concurrency N (default 16).
import { HOUR_MS, startOfHour } from '../dist/shared/time.js';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Registry } from 'prom-client';
import { createLogger } from '../dist/shared/logger.js';
import { startUsage } from '../dist/usage/index.js';

import { DEFAULT_JOURNAL_MAX_BYTES, ENTITLEMENT_ROOM_BYTES, journalLimits, MIB } from '../dist/usage/volume.js';
import { table } from './table.mjs';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
};
const RATE = arg('rate', 54);
const SECONDS = arg('seconds', 3600);
const CONCURRENCY = arg('concurrency', 16);
const DIMENSIONS = ['gb_scanned', 'requests'];

const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;

/** The report shapes: what an app sends (an id is a UUID, as a job or request id would be). */
const SHAPES = {
  'no tags, no id': (i) => ({ dimension: DIMENSIONS[i % 2], quantity: 1 + (i % 500) }),
  'one of 3 tag sets, no id': (i) => ({ dimension: DIMENSIONS[i % 2], quantity: 1 + (i % 500), tags: { team: ['analytics', 'web', 'batch'][i % 3] } }),
  'one of 3 tag sets, UUID id': (i) => ({ dimension: DIMENSIONS[i % 2], quantity: 1 + (i % 500), tags: { team: ['analytics', 'web', 'batch'][i % 3] }, id: crypto.randomUUID() }),
  'a tag set per report, UUID id (worst case)': (i) => ({ dimension: DIMENSIONS[i % 2], quantity: 1 + (i % 500), tags: { job: `job-${i}` }, id: crypto.randomUUID() }),
};

function memoryLogger() {
  const lines = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const l of chunk.toString('utf8').split('\n')) if (l.trim() !== '') lines.push(JSON.parse(l));
      done();
    },
  });
  return { logger: createLogger('debug', stream), lines };
}

async function run(shape, make, { seconds = SECONDS, rate = RATE } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'journal-growth-'));
  const path = join(dir, 'usage-journal.ndjson');
  let t = startOfHour(Date.now()) + 1000;
  const { logger, lines } = memoryLogger();
  const client = { send: async () => ({ MeteringRecordId: `rid-${Math.random()}` }) };
  const limits = journalLimits(DEFAULT_JOURNAL_MAX_BYTES);
  const usage = await startUsage({
    config: { dimensions: DIMENSIONS, listen: { host: '127.0.0.1', port: 0 }, journalFile: path },
    client,
    productCode: 'prod-bench',
    logger,
    registry: new Registry(),
    now: () => t,
    backoff: { throttled: { baseDelayMs: 10, maxDelayMs: 10, jitter: 'full' }, transient: { baseDelayMs: 10, maxDelayMs: 10, jitter: 'full' } },
    attemptTimeoutMs: 5000,
    journalLimits: limits,
  });
  usage.forwarder.stop(); // the bench ticks it once per simulated second
  const url = `http://127.0.0.1:${usage.address.port}/v1/usage`;
  const post = (body) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then(async (r) => (await r.arrayBuffer(), r.status));

  // 1. bytes per report: the journal's growth over the first 1000 reports, before any compaction.
  let i = 0;
  const before = statSync(path).size;
  for (; i < 1000; i++) await post(make(i));
  const perReport = (statSync(path).size - before) / 1000;

  // 2. the hour.
  let peak = 0;
  let refused = 0;
  let firstRefusalAt;
  const started = performance.now();
  for (let s = 0; s < seconds + 180; s++) {
    if (s < seconds) {
      const due = Array.from({ length: rate }, () => make(i++));
      for (let k = 0; k < due.length; k += CONCURRENCY) {
        const statuses = await Promise.all(due.slice(k, k + CONCURRENCY).map(post));
        for (const st of statuses) {
          if (st === 503) {
            refused++;
            firstRefusalAt ??= s;
          }
        }
      }
    }
    await usage.forwarder.tick();
    peak = Math.max(peak, statSync(path).size);
    t += 1000;
  }
  const wallMs = performance.now() - started;
  const compactions = lines.filter((l) => l.msg === 'usage journal compacted');
  // Sampled after each tick, and right before each compaction (which runs inside a tick).
  peak = Math.max(peak, ...compactions.map((c) => c.before));
  const peakWithCopy = Math.max(peak, ...compactions.map((c) => c.before + c.after));
  await usage.stop(t);
  const sent = lines.filter((l) => l.msg === 'usage sent').length;
  rmSync(dir, { recursive: true, force: true });
  return {
    shape,
    perReport,
    peak,
    peakWithCopy,
    compactions: compactions.length,
    largestCompacted: Math.max(0, ...compactions.map((c) => c.after)),
    refused,
    firstRefusalAt,
    sent,
    wallMs,
  };
}

const results = [];
for (const [shape, make] of Object.entries(SHAPES)) {
  process.stderr.write(`${shape}...\n`);
  results.push(await run(shape, make));
}

console.log(`\nUsage journal, ${RATE} reports/s for ${SECONDS} s, then the hour's send (journal bound ${kib(DEFAULT_JOURNAL_MAX_BYTES)}, reports up to ${kib(journalLimits(DEFAULT_JOURNAL_MAX_BYTES).intakeBytes)})\n`);
table(
  ['reports', 'bytes/report', 'largest journal', 'journal + copy', 'compactions', 'largest compacted', 'refused (503)', 'records sent'],
  results.map((r) => [
    r.shape,
    r.perReport.toFixed(1),
    kib(r.peak),
    kib(r.peakWithCopy),
    r.compactions,
    kib(r.largestCompacted),
    r.refused === 0 ? '0' : `${r.refused} (from second ${r.firstRefusalAt})`,
    r.sent,
  ]),
);
const untagged = results[1];
console.log(`\nWithout compaction before the hour settles, ${RATE} reports/s of ${untagged.perReport.toFixed(0)} bytes fill 16 MiB in ${((16 * MIB) / (RATE * untagged.perReport) / 60).toFixed(0)} minutes.`);
const need = 2 * DEFAULT_JOURNAL_MAX_BYTES + ENTITLEMENT_ROOM_BYTES;
console.log(`Volume needed: 2 x ${kib(DEFAULT_JOURNAL_MAX_BYTES)} (journal and its compaction copy) + ${kib(ENTITLEMENT_ROOM_BYTES)} (entitlement files) = ${(need / MIB).toFixed(2)} MiB.`);
console.log(`Largest journal + copy measured: ${kib(Math.max(...results.map((r) => r.peakWithCopy)))}.`);
