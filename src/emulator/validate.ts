/**
 * Input checking as AWS's JSON services (Coral) do it, in two stages:
 * 1. deserialisation: a member of the wrong JSON type is a SerializationException (the request
 *    cannot be read into the shape at all), and so is a body that is not a JSON object;
 * 2. constraints: every violated `required`/`length`/`pattern`/`range` trait is collected into one
 *    ValidationException, "N validation error(s) detected: ...; ...".
 * Shapes are declared as data so later operations (MeterUsage, ...) only add a table.
 */
import { ApiError } from './errors.js';

export type MemberSpec =
  | { readonly type: 'string'; readonly required?: boolean; readonly min?: number; readonly max?: number; readonly pattern?: string }
  | { readonly type: 'integer'; readonly required?: boolean; readonly min?: number; readonly max?: number };

/** Member name (wire, PascalCase) -> constraints, in the model's member order. */
export type ShapeSpec = Readonly<Record<string, MemberSpec>>;

export const REGISTER_USAGE_INPUT = {
  ProductCode: { type: 'string', required: true, min: 1, max: 255, pattern: '^[-a-zA-Z0-9/=:_.@]*$' },
  PublicKeyVersion: { type: 'integer', required: true, min: 1 },
  Nonce: { type: 'string', max: 255 },
} as const satisfies ShapeSpec;

/** Coral's token names for JSON values it could not convert. */
function jsonKind(v: unknown): string {
  if (typeof v === 'string') return 'STRING_VALUE';
  if (typeof v === 'number') return 'NUMBER_VALUE';
  if (v === true) return 'TRUE_VALUE';
  if (v === false) return 'FALSE_VALUE';
  return 'VALUE';
}

function typeProblem(name: string, spec: MemberSpec, v: unknown): string | undefined {
  if (Array.isArray(v)) return 'Start of list found where not expected';
  if (typeof v === 'object' && v !== null) return 'Start of structure or map found where not expected.';
  if (spec.type === 'string' && typeof v !== 'string') return `${jsonKind(v)} can not be converted to a String`;
  if (spec.type === 'integer') {
    if (typeof v !== 'number') return `${jsonKind(v)} can not be converted to an Integer`;
    // The emulator refuses fractions and out-of-range numbers rather than silently truncating them,
    // so a client bug that sends 1.5 is seen in tests instead of being papered over.
    if (!Number.isInteger(v) || Math.abs(v) > 2 ** 31 - 1) return `NUMBER_VALUE ${v} of ${name} can not be converted to an Integer`;
  }
  return undefined;
}

/** Coral names members in messages with a lower-case first letter ('productCode'). */
const memberPath = (name: string): string => name.charAt(0).toLowerCase() + name.slice(1);

function constraintProblems(name: string, spec: MemberSpec, v: unknown): string[] {
  const at = (shown: string, why: string): string => `Value ${shown} at '${memberPath(name)}' failed to satisfy constraint: ${why}`;
  if (v === undefined || v === null) return spec.required ? [at('null', 'Member must not be null')] : [];
  const problems: string[] = [];
  const shown = `'${String(v)}'`;
  if (spec.type === 'string' && typeof v === 'string') {
    const length = [...v].length;
    if (spec.min !== undefined && length < spec.min) problems.push(at(shown, `Member must have length greater than or equal to ${spec.min}`));
    if (spec.max !== undefined && length > spec.max) problems.push(at(shown, `Member must have length less than or equal to ${spec.max}`));
    if (spec.pattern !== undefined && !new RegExp(spec.pattern, 'u').test(v)) {
      problems.push(at(shown, `Member must satisfy regular expression pattern: ${spec.pattern}`));
    }
  }
  if (spec.type === 'integer' && typeof v === 'number') {
    if (spec.min !== undefined && v < spec.min) problems.push(at(shown, `Member must have value greater than or equal to ${spec.min}`));
    if (spec.max !== undefined && v > spec.max) problems.push(at(shown, `Member must have value less than or equal to ${spec.max}`));
  }
  return problems;
}

/** Parses the raw body and checks it against the shape; returns the input or throws the ApiError AWS would answer. */
export function readInput(shape: ShapeSpec, body: Buffer): Record<string, unknown> {
  let parsed: unknown;
  const text = body.toString('utf8');
  try {
    // An empty body is an empty input structure, as for Coral; botocore and the SDK always send at least `{}`.
    parsed = text.trim() === '' ? {} : JSON.parse(text);
  } catch {
    throw new ApiError('SerializationException', 'The request body is not valid JSON.');
  }
  if (Array.isArray(parsed)) throw new ApiError('SerializationException', 'Start of list found where not expected');
  if (typeof parsed !== 'object' || parsed === null) throw new ApiError('SerializationException', 'The request body must be a JSON object.');
  const input = parsed as Record<string, unknown>;

  for (const [name, spec] of Object.entries(shape)) {
    const v = input[name];
    if (v === undefined || v === null) continue;
    const problem = typeProblem(name, spec, v);
    if (problem !== undefined) throw new ApiError('SerializationException', problem);
  }
  const problems = Object.entries(shape).flatMap(([name, spec]) => constraintProblems(name, spec, input[name]));
  if (problems.length > 0) {
    const n = problems.length;
    throw new ApiError('ValidationException', `${n} validation error${n === 1 ? '' : 's'} detected: ${problems.join('; ')}`);
  }
  // Unknown members are ignored, as AWS does (older clients may send fields a newer model dropped).
  return Object.fromEntries(Object.keys(shape).filter((k) => input[k] !== undefined && input[k] !== null).map((k) => [k, input[k]]));
}
