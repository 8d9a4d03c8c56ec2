#!/usr/bin/env node
/**
 * The charts' README values tables and values.schema.json, generated from the annotations in each
 * chart's values.yaml, so every rule of a value is written once, next to the value.
 *
 *   node scripts/chart-docs.mjs                       rewrite charts/<chart>/README.md and values.schema.json
 *   node scripts/chart-docs.mjs --check               regenerate into a temporary directory and fail (exit 1)
 *                                                     naming every file that differs from the committed one
 *   node scripts/chart-docs.mjs --charts-dir DIR ...  the same for the charts under DIR (the tests use it)
 *
 * Step 1 is @bitnami/readme-generator-for-helm (a devDependency, pinned), run as its own CLI: it checks that
 * every value has a `## @param` line (and no `## @param` names a value that does not exist), writes the
 * tables under the README's `## Parameters` heading, and writes a schema with each value's type,
 * description and default. Its schema says nothing else (no pattern, enum, minimum/maximum, required,
 * additionalProperties, integer, and null only as OpenAPI's `nullable`; see its lib/render.js).
 *
 * Step 2 (here) makes that a draft-07 JSON Schema that Helm enforces:
 *  - every object with listed properties refuses unknown keys (`additionalProperties: false`);
 *  - `number` becomes `integer` when the default is a whole number (every number of these charts is);
 *    `nullable: true` becomes a `"null"` member of `type`; each `default` is the value in values.yaml;
 *  - `global` (Helm's globals, passed to every chart) is allowed at the root;
 *  - then each `## @schema <key> <JSON>` line of values.yaml (the tool ignores these lines) is applied to
 *    the schema of <key> (`(root)` for the whole file) as a JSON merge patch (RFC 7386): its members are
 *    added or replace the generated ones, a member set to null is removed. This is where patterns, enums,
 *    ranges and required keys live, and where a free-form object (Kubernetes' own types such as
 *    `resources`) drops its generated properties: `{"properties": null, "additionalProperties": true}`.
 *    A @schema line for a key the schema does not have is an error.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const TOOL = join(REPO_ROOT, 'node_modules', '.bin', 'readme-generator');
const CHARTS = ['entitlement-sidecar', 'paid-app-example'];
const SCHEMA_LINE = /^\s*##\s*@schema\s+(\S+)\s+(.+?)\s*$/;

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

/** RFC 7386: members of the patch replace those of the target; null removes a member. */
function mergePatch(target, patch) {
  if (!isObject(patch)) return patch;
  const out = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}

/** Step 2's first part, on the node of one value (or object of values) and its default. */
function toJsonSchema(node, value) {
  const out = { ...node };
  if (out.type === 'number' && Number.isInteger(value)) out.type = 'integer';
  if (out.nullable === true) {
    out.type = [out.type, 'null'];
  }
  delete out.nullable;
  if ('default' in out && value !== undefined) out.default = value;
  if (isObject(out.properties)) {
    out.properties = Object.fromEntries(
      Object.entries(out.properties).map(([key, child]) => [key, toJsonSchema(child, isObject(value) ? value[key] : undefined)]),
    );
    if (Object.keys(out.properties).length > 0) out.additionalProperties = false;
  }
  return out;
}

function applySchemaLines(schema, valuesText, valuesFile) {
  const problems = [];
  valuesText.split('\n').forEach((line, i) => {
    const m = SCHEMA_LINE.exec(line);
    if (m === null) return;
    const [, key, json] = m;
    const where = `${valuesFile}:${i + 1}`;
    let patch;
    try {
      patch = JSON.parse(json);
    } catch (e) {
      problems.push(`${where}: @schema ${key}: not JSON (${e.message})`);
      return;
    }
    if (key === '(root)') {
      Object.assign(schema, mergePatch(schema, patch));
      return;
    }
    const path = key.split('.');
    let parent = schema;
    for (const part of path.slice(0, -1)) parent = parent?.properties?.[part];
    const last = path[path.length - 1];
    if (!isObject(parent?.properties) || !(last in parent.properties)) {
      problems.push(`${where}: @schema ${key}: no such value in values.yaml`);
      return;
    }
    parent.properties[last] = mergePatch(parent.properties[last], patch);
  });
  if (problems.length > 0) throw new Error(problems.join('\n'));
  return schema;
}

/** README.md and values.schema.json of one chart, as they should be, from its values.yaml. */
export function generate(chartDir) {
  const valuesFile = join(chartDir, 'values.yaml');
  const valuesText = readFileSync(valuesFile, 'utf8');
  const chart = parse(readFileSync(join(chartDir, 'Chart.yaml'), 'utf8'));
  const work = mkdtempSync(join(tmpdir(), 'chart-docs-'));
  try {
    copyFileSync(join(chartDir, 'README.md'), join(work, 'README.md'));
    const r = spawnSync(TOOL, ['--values', valuesFile, '--readme', join(work, 'README.md'), '--schema', join(work, 'schema.json')], { encoding: 'utf8' });
    if (r.status !== 0) {
      const errors = `${r.stdout}\n${r.stderr}`.split('\n').filter((l) => /ERROR|Error/.test(l));
      throw new Error(`readme-generator failed on ${valuesFile}:\n${errors.join('\n') || r.stderr || r.error}`);
    }
    const generated = JSON.parse(readFileSync(join(work, 'schema.json'), 'utf8'));
    const values = parse(valuesText) ?? {};
    const body = toJsonSchema(generated, values);
    const schema = {
      $schema: 'http://json-schema.org/draft-07/schema#',
      title: `${chart.name} chart values`,
      type: 'object',
      additionalProperties: false,
      properties: { global: { type: 'object', description: "Helm's global values (passed to every chart)." }, ...body.properties },
    };
    applySchemaLines(schema, valuesText, relative(REPO_ROOT, valuesFile));
    return { readme: readFileSync(join(work, 'README.md'), 'utf8'), schema: `${JSON.stringify(schema, null, 2)}\n` };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function main(argv) {
  const check = argv.includes('--check');
  const dirFlag = argv.indexOf('--charts-dir');
  const chartsDir = dirFlag === -1 ? join(REPO_ROOT, 'charts') : argv[dirFlag + 1];
  const stale = [];
  for (const name of CHARTS) {
    const dir = join(chartsDir, name);
    if (!existsSync(dir)) continue;
    const out = generate(dir);
    for (const [file, text] of [['README.md', out.readme], ['values.schema.json', out.schema]]) {
      const path = join(dir, file);
      if (readFileSync(path, 'utf8') === text) continue;
      if (check) stale.push(path);
      else writeFileSync(path, text);
    }
  }
  if (stale.length > 0) {
    console.error(`stale, regenerate with \`node scripts/chart-docs.mjs\` and commit:\n${stale.map((p) => `  ${p}`).join('\n')}`);
    return 1;
  }
  return 0;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (e) {
    console.error(e.message);
    process.exitCode = 2;
  }
}
