/**
 * The rules a usage value must meet, from MeterUsage's model: one place for the intake (a report from
 * the app) and the journal's replay (a line read back from the shared volume), so a line on disk is
 * never trusted more than a report on the wire.
 */

/** UsageQuantity is an int32: at most 2147483647 per report and per record. */
export const MAX_QUANTITY = 2_147_483_647;
export const MIN_TAGS = 1;
export const MAX_TAGS = 5;
/** AWS's characters for allocation tags (they become `aws:marketplace:isv:<Key>` cost-allocation tags). */
const TAG_CHARS = /^[a-zA-Z0-9+ \-=._:/@]+$/;
/** The app's idempotency key. */
export const MAX_ID_CHARS = 128;
/** MeterUsage's ClientToken: 1-64 characters; ours are UUIDs, printable ASCII in any case. */
const CLIENT_TOKEN = /^[\x21-\x7e]{1,64}$/;

export function isQuantity(q: unknown): q is number {
  return typeof q === 'number' && Number.isInteger(q) && q >= 0 && q <= MAX_QUANTITY;
}

export function isIntakeId(id: unknown): id is string {
  return typeof id === 'string' && id.length >= 1 && id.length <= MAX_ID_CHARS;
}

export function isClientToken(tok: unknown): tok is string {
  return typeof tok === 'string' && CLIENT_TOKEN.test(tok);
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** What is wrong with a tag set (an object of names to values); empty when nothing. */
export function tagProblems(tags: unknown): string[] {
  if (!isPlainObject(tags)) return ['tags must be an object of tag names to values'];
  const problems: string[] = [];
  const entries = Object.entries(tags);
  if (entries.length < MIN_TAGS || entries.length > MAX_TAGS) problems.push(`tags must hold ${MIN_TAGS} to ${MAX_TAGS} tags`);
  for (const [key, value] of entries) {
    if (key.length < 1 || key.length > 100 || !TAG_CHARS.test(key)) {
      problems.push(`tag name "${key}" must be 1-100 characters of letters, digits, space and + - = . _ : / @`);
    }
    if (typeof value !== 'string' || value.length < 1 || value.length > 256 || !TAG_CHARS.test(value)) {
      problems.push(`tag "${key}" must have a value of 1-256 characters of letters, digits, space and + - = . _ : / @`);
    }
  }
  return problems;
}

/** Keys of `value` outside `allowed`. */
export function unknownKeys(value: Record<string, unknown>, allowed: readonly string[]): string[] {
  return Object.keys(value).filter((k) => !allowed.includes(k));
}
