/**
 * helm-docs style documentation of a chart's values: a `# -- description` comment above a key documents
 * it (`# -- (type) description` overrides the type; further `#` lines continue the description). The
 * README's values table is checked against values.yaml both ways by chart.test.ts.
 */
import { parse } from 'yaml';

export interface ValueRow {
  readonly key: string;
  readonly type: string;
  readonly default: string;
  readonly description: string;
}

export interface ValuesDoc {
  readonly rows: ValueRow[];
  /** Leaves (scalars, lists, empty maps) documented neither themselves nor by an ancestor. */
  readonly undocumented: string[];
}

const KEY_LINE = /^(\s*)("[^"]+"|[A-Za-z0-9_.-]+):(?:\s+(.*))?$/;

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'list';
  if (typeof value === 'object') return 'object';
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'float';
  if (typeof value === 'boolean') return 'bool';
  return 'string';
}

function lookup(root: unknown, path: readonly string[]): unknown {
  let cur = root;
  for (const p of path) cur = (cur as Record<string, unknown> | undefined)?.[p];
  return cur;
}

export function parseValuesDoc(text: string): ValuesDoc {
  const data = parse(text) as unknown;
  const lines = text.split('\n');
  const rows: ValueRow[] = [];
  const leaves: string[] = [];
  const stack: { indent: number; key: string }[] = [];
  let pending: { type?: string; text: string[] } | undefined;
  let inDoc = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    const trimmed = line.trim();
    if (trimmed === '') {
      pending = undefined;
      inDoc = false;
      continue;
    }
    if (trimmed.startsWith('#')) {
      const body = trimmed.replace(/^#\s?/, '');
      if (body.startsWith('-- ')) {
        const m = /^-- (?:\(([^)]+)\) )?(.*)$/.exec(body);
        pending = { text: [m?.[2] ?? ''], ...(m?.[1] === undefined ? {} : { type: m[1] }) };
        inDoc = true;
      } else if (inDoc && pending !== undefined) {
        pending.text.push(body);
      }
      continue;
    }
    inDoc = false;
    const m = KEY_LINE.exec(line);
    if (m === null || trimmed.startsWith('-')) {
      pending = undefined;
      continue;
    }
    const indent = (m[1] as string).length;
    const key = (m[2] as string).replace(/^"|"$/g, '');
    while (stack.length > 0 && (stack[stack.length - 1] as { indent: number }).indent >= indent) stack.pop();
    const path = [...stack.map((s) => s.key), key];
    const value = lookup(data, path);
    const isMap = value !== null && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length > 0;
    const dotted = path.join('.');
    if (pending !== undefined) {
      rows.push({
        key: dotted,
        type: pending.type ?? typeOf(value),
        default: `\`${JSON.stringify(value)}\``,
        description: pending.text.join(' ').trim(),
      });
    } else if (!isMap) {
      leaves.push(dotted);
    }
    pending = undefined;
    if (isMap) stack.push({ indent, key });
  }
  const documented = rows.map((r) => r.key);
  const undocumented = leaves.filter((leaf) => !documented.some((d) => leaf === d || leaf.startsWith(`${d}.`)));
  return { rows, undocumented };
}

const escapeCell = (s: string) => s.replace(/\|/g, '\\|');

export function renderValuesTable(rows: readonly ValueRow[]): string {
  const out = ['| Key | Type | Default | Description |', '|-----|------|---------|-------------|'];
  for (const r of rows) out.push(`| ${escapeCell(r.key)} | ${r.type} | ${escapeCell(r.default)} | ${escapeCell(r.description)} |`);
  return out.join('\n');
}

/** The rows of the first table in `markdown` whose header is Key | Type | Default | Description. */
export function parseValuesTable(markdown: string): ValueRow[] {
  const lines = markdown.split('\n');
  const start = lines.findIndex((l) => /^\|\s*Key\s*\|\s*Type\s*\|\s*Default\s*\|\s*Description\s*\|\s*$/.test(l));
  if (start === -1) return [];
  const rows: ValueRow[] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    const cells = line
      .slice(1, -1)
      .split(/(?<!\\)\|/)
      .map((c) => c.trim().replace(/\\\|/g, '|'));
    rows.push({ key: cells[0] ?? '', type: cells[1] ?? '', default: cells[2] ?? '', description: cells[3] ?? '' });
  }
  return rows;
}
