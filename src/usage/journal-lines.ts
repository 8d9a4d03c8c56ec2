import { HOUR_MS } from '../shared/time.js';
import { MAX_ALLOCATIONS, MAX_KEPT_INTAKE_IDS, MAX_RECORD_QUANTITY, tagsKey, type JournalLine, type RecordResult } from './ledger.js';
import { isClientToken, isIntakeId, isPlainObject, isQuantity, tagProblems, unknownKeys } from './rules.js';

/**
 * Checks one journal line read back from the volume as strictly as the intake checks a report: the
 * file is on a volume other containers may write, and a wrong line would become usage billed to a
 * buyer. Types, integer ranges, known dimensions, tags by AWS's rules, token formats, and no unknown
 * fields. Whether the line fits the state (a record taking no more than is pending...) is the ledger's
 * check (`UsageLedger.conflict`).
 */

const RESULTS: readonly RecordResult[] = ['sent', 'carried', 'unreconciled'];
/** An `r` line's `why` is a scrubbed AWS message (at most 600 characters and a note). */
const MAX_WHY_CHARS = 1000;
const MAX_RECORD_ID_CHARS = 256;

const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isHour = (v: unknown): v is number => isTime(v) && v % HOUR_MS === 0;

/** A tags key as the ledger makes it: '' (untagged) or the canonical JSON of a valid tag set. */
function isTagsKey(key: unknown): key is string {
  if (typeof key !== 'string') return false;
  if (key === '') return true;
  let pairs: unknown;
  try {
    pairs = JSON.parse(key);
  } catch {
    return false;
  }
  if (!Array.isArray(pairs) || !pairs.every((p) => Array.isArray(p) && p.length === 2 && typeof p[0] === 'string' && typeof p[1] === 'string')) return false;
  const tags = Object.fromEntries(pairs as [string, string][]);
  return Object.keys(tags).length === pairs.length && tagProblems(tags).length === 0 && tagsKey(tags) === key;
}

function problemsOf(v: Record<string, unknown>, dimensions: readonly string[]): string | undefined {
  const fields = (allowed: string[]) => {
    const extra = unknownKeys(v, allowed);
    return extra.length === 0 ? undefined : `unknown field ${extra.map((k) => `"${k}"`).join(', ')}`;
  };
  const dimension = () => (typeof v.d === 'string' && dimensions.includes(v.d) ? undefined : `d must be one of: ${dimensions.join(', ')}`);
  const token = () => (isClientToken(v.tok) ? undefined : 'tok must be a ClientToken of 1-64 printable characters');
  switch (v.k) {
    case 'u':
      return (
        fields(['k', 'at', 'd', 'q', 't', 'id']) ??
        (isTime(v.at) ? undefined : 'at must be a time in milliseconds') ??
        dimension() ??
        (isQuantity(v.q) ? undefined : `q must be an integer from 0 to ${MAX_RECORD_QUANTITY}`) ??
        (v.t === undefined ? undefined : tagProblems(v.t)[0]) ??
        (v.id === undefined || isIntakeId(v.id) ? undefined : 'id must be a string of 1-128 characters')
      );
    case 's': {
      const base =
        fields(['k', 'tok', 'h', 'd', 'from', 'own']) ??
        token() ??
        (isHour(v.h) ? undefined : 'h must be the start of an hour') ??
        dimension() ??
        (v.own === undefined || v.own === true ? undefined : 'own, when given, must be true');
      if (base !== undefined) return base;
      if (!Array.isArray(v.from) || v.from.length === 0) return 'from must be a non-empty list';
      let total = 0;
      const keys = new Set<string>();
      for (const entry of v.from as unknown[]) {
        if (!Array.isArray(entry) || entry.length !== 3) return 'each from entry must be [hour, tags key, quantity]';
        const [h, key, q] = entry as unknown[];
        if (!isHour(h) || h > (v.h as number)) return 'a from entry must be of the record\'s hour or an earlier one';
        if (!isTagsKey(key)) return 'a from entry has an invalid tags key';
        if (!isQuantity(q) || q === 0) return `a from entry must take 1 to ${MAX_RECORD_QUANTITY} units`;
        total += q;
        keys.add(key);
      }
      if (total > MAX_RECORD_QUANTITY) return `a record holds at most ${MAX_RECORD_QUANTITY} units`;
      if (keys.size > MAX_ALLOCATIONS) return `a record holds at most ${MAX_ALLOCATIONS} allocations`;
      return undefined;
    }
    case 'x':
      return fields(['k', 'tok']) ?? token();
    case 'r':
      return (
        fields(['k', 'tok', 'st', 'rid', 'why']) ??
        token() ??
        (RESULTS.includes(v.st as RecordResult) ? undefined : `st must be one of: ${RESULTS.join(', ')}`) ??
        (v.rid === undefined || (typeof v.rid === 'string' && v.rid.length <= MAX_RECORD_ID_CHARS) ? undefined : 'rid must be a string') ??
        (v.why === undefined || (typeof v.why === 'string' && v.why.length <= MAX_WHY_CHARS) ? undefined : 'why must be a string')
      );
    case 'm':
      return fields(['k', 'h', 'd']) ?? (isHour(v.h) ? undefined : 'h must be the start of an hour') ?? dimension();
    case 'i':
      if (fields(['k', 'ids']) !== undefined) return fields(['k', 'ids']);
      if (!Array.isArray(v.ids) || v.ids.length > MAX_KEPT_INTAKE_IDS || !v.ids.every(isIntakeId)) return `ids must be a list of at most ${MAX_KEPT_INTAKE_IDS} ids`;
      return undefined;
    default:
      return 'k must be one of: u, s, x, r, m, i';
  }
}

/** Parses and checks one line of text; a problem names what is wrong. */
export function parseJournalLine(text: string, dimensions: readonly string[]): { line: JournalLine } | { problem: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { problem: 'not JSON' };
  }
  if (!isPlainObject(value)) return { problem: 'not a JSON object' };
  const problem = problemsOf(value, dimensions);
  return problem === undefined ? { line: value as JournalLine } : { problem };
}
