import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SETTINGS } from '../../src/config/settings.js';
import { ENDPOINTS } from '../../src/sidecar/probe-server.js';
import { createMetrics, METRIC_PREFIX } from '../../src/sidecar/metrics.js';
import { OUTCOMES, STATUSES } from '../../src/entitlement/outcomes.js';
import { EMULATOR_FLAGS } from '../../src/emulator/settings.js';
import { BAD_TOKENS, DEFAULT_SCENARIO, MODES } from '../../src/emulator/index.js';
import { licenseSeedProblems } from '../../src/emulator/license-manager/seeds.js';
import { REASONS } from '../../src/k8s/index.js';
import { createUsageMetrics } from '../../src/usage/metrics.js';

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

/** The rows of the `nth` table under a `## heading`, as arrays of cell texts. */
function table(heading: string, nth = 0): string[][] {
  const start = README.indexOf(`\n## ${heading}\n`);
  expect(start, `README has a "## ${heading}" section`).toBeGreaterThan(-1);
  const section = README.slice(start + 1).split(/\n## /)[0] as string;
  const lines = section.split('\n');
  let first = lines.findIndex((l) => l.startsWith('|'));
  for (let n = 0; n < nth; n++) {
    const end = lines.findIndex((l, i) => i > first && !l.startsWith('|'));
    first = lines.findIndex((l, i) => i > end && l.startsWith('|'));
  }
  const rows: string[][] = [];
  for (const l of lines.slice(first + 2)) {
    if (!l.startsWith('|')) break;
    rows.push(l.slice(1, -1).split('|').map((c) => c.trim()));
  }
  return rows;
}

const unquote = (s: string) => s.replace(/`/g, '');

describe('the README tables match the code, both ways', () => {
  it('configuration: every setting with its flag and default, and nothing else', () => {
    const rows = table('Configuration');
    expect(rows.map((r) => unquote(r[0] as string))).toEqual(SETTINGS.map((s) => s.env));
    for (const s of SETTINGS) {
      const row = rows.find((r) => unquote(r[0] as string) === s.env) as string[];
      expect(unquote(row[1] as string)).toBe(`--${s.flag}`);
      if (s.default !== undefined) expect(unquote(row[2] as string)).toBe(s.default);
      else expect(row[2], s.env).toMatch(s.required ? /required/ : /^unset$/);
    }
  });

  it('status codes: every outcome code with its status, retry and sticky flags, and nothing else', () => {
    const rows = table('Status codes');
    expect(rows.map((r) => unquote(r[0] as string)).sort()).toEqual(Object.keys(OUTCOMES).sort());
    for (const row of rows) {
      const spec = OUTCOMES[unquote(row[0] as string) as keyof typeof OUTCOMES];
      expect(row[1], row[0]).toBe(spec.status);
      expect(row[2], `${row[0]} retried`).toBe(spec.retryable ? 'yes' : 'no');
      expect(row[3], `${row[0]} sticky`).toBe(spec.sticky ? 'yes' : 'no');
      expect((row[4] as string).split(' ')[0], `${row[0]} event reason`).toBe(REASONS[unquote(row[0] as string) as keyof typeof OUTCOMES]);
    }
    for (const s of STATUSES) expect(README).toContain(`\`${s}\``);
  });

  it('metrics: every metric of ours with its type and labels, and nothing else', async () => {
    const rows = table('Metrics');
    // As the sidecar builds it: its own metrics (the Kubernetes reporter's among them) plus usage metering's, on one registry.
    const sidecarRegistry = () => {
      const m = createMetrics('test');
      const usage = createUsageMetrics(m.registry, ['gb']);
      usage.attempts.inc({ outcome: 'sent' });
      return m;
    };
    const metrics = (await sidecarRegistry().registry.getMetricsAsJSON()).filter((m) => m.name.startsWith(METRIC_PREFIX));
    expect(rows.map((r) => unquote(r[0] as string)).sort()).toEqual(metrics.map((m) => m.name).sort());
    const metricsAfterAnAttempt = sidecarRegistry();
    metricsAfterAnAttempt.registerAttempts.inc({ outcome: 'ENTITLED' });
    metricsAfterAnAttempt.registerDuration.observe(0.1);
    metricsAfterAnAttempt.licenseCalls.inc({ operation: 'checkout', outcome: 'ENTITLED' });
    const labelsOf = Object.fromEntries(
      (await metricsAfterAnAttempt.registry.getMetricsAsJSON()).map((m) => [
        m.name,
        [...new Set(m.values.flatMap((v) => Object.keys(v.labels)))].filter((l) => l !== 'le'),
      ]),
    );
    for (const m of metrics) {
      const row = rows.find((r) => unquote(r[0] as string) === m.name) as string[];
      expect(row[1], m.name).toBe(m.type);
      expect(unquote(row[2] as string).split(',').map((s) => s.trim()).filter((s) => s !== ''), m.name).toEqual(labelsOf[m.name]);
    }
  });

  it('endpoints: every path the server answers', () => {
    expect(table('Endpoints').map((r) => unquote(r[0] as string))).toEqual([...ENDPOINTS]);
  });

  it('emulator flags: every flag with its environment variable, and nothing else', () => {
    const rows = table('Emulator', 0);
    expect(rows.map((r) => unquote(r[0] as string))).toEqual(Object.keys(EMULATOR_FLAGS).map((f) => `--${f}`));
    for (const [flag, env] of Object.entries(EMULATOR_FLAGS)) {
      expect(unquote((rows.find((r) => unquote(r[0] as string) === `--${flag}`) as string[])[1] as string)).toContain(env);
    }
  });

  it('emulator scenarios: every field, mode and bad token, and nothing else', () => {
    const rows = table('Emulator', 1);
    expect(rows.map((r) => unquote(r[0] as string)).sort()).toEqual(Object.keys(DEFAULT_SCENARIO).sort());
    const values = (field: string) => unquote((rows.find((r) => unquote(r[0] as string) === field) as string[])[1] as string).split(', ');
    expect(values('mode')).toEqual([...MODES]);
    expect(values('badToken')).toEqual([...BAD_TOKENS]);
  });
});

describe('the README\'s license seeds', () => {
  it('the example is a valid list of seeds, and the seed table lists every field', () => {
    const section = README.slice(README.indexOf('#### License seeds'));
    const example = /```json\n([\s\S]+?)\n```/.exec(section)?.[1] ?? '';
    const seeds = JSON.parse(example) as unknown[];
    expect(seeds.length).toBeGreaterThan(0);
    for (const seed of seeds) expect(licenseSeedProblems(seed)).toEqual([]);
    const fields = table('Emulator', 3).map((r) => unquote(r[0] as string));
    expect(licenseSeedProblems({ colour: 1 })[0]).toBe(`colour is not a field; allowed: ${fields.join(', ')}`);
  });
});

describe('the code map', () => {
  it('lists every folder of src/ and test/ (and src/index.ts), and nothing else', () => {
    const root = new URL('../../', import.meta.url);
    const folders = (dir: string, depth: number): string[] =>
      readdirSync(new URL(dir, root), { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .flatMap((e) => [`${dir}${e.name}/`, ...(depth > 1 ? folders(`${dir}${e.name}/`, depth - 1) : [])]);
    // src/ to any depth; test/ one level (its projects mirror src/'s layers beneath).
    const expected = [...folders('src/', 9), ...folders('test/', 1)].sort();
    const rows = table('Code map').map((r) => unquote(r[0] as string));
    expect(rows.filter((r) => r.endsWith('/')).sort()).toEqual(expected);
    expect(rows.filter((r) => r.startsWith('src/')).every((r) => r.endsWith('/') || r === 'src/index.ts')).toBe(true);
  });
});

describe('paths the documentation names', () => {
  const root = new URL('../../', import.meta.url);
  // Every Markdown file of the repository outside node_modules; a path the reader is told to create
  // (a key file next to a Dockerfile) is listed in `toCreate`.
  const docs = (readdirSync(root, { recursive: true, encoding: 'utf8' }) as string[])
    .filter((p) => p.endsWith('.md') && !p.split('/').some((part) => part === 'node_modules' || part.startsWith('.')))
    .sort();
  const toCreate = new Set(['examples/seller-image/product-public-key.pem']);
  it('finds the READMEs', () => {
    expect(docs).toEqual(expect.arrayContaining(['README.md', 'charts/entitlement-sidecar/README.md', 'examples/seller-image/README.md']));
  });
  it.each(docs)('%s: every repository path it names exists', (doc) => {
    const text = readFileSync(new URL(doc, root), 'utf8');
    const named = [...text.matchAll(/`((?:src|test|scripts|bench|examples|charts|ecs)\/[A-Za-z0-9_.\/-]*)`/g)].map((m) => m[1] as string);
    const missing = named.filter((p) => !toCreate.has(p) && !existsSync(new URL(p, root)));
    expect(missing).toEqual([]);
  });
});
