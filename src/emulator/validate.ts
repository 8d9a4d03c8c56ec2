/**
 * Input checking as AWS's JSON services (Coral) do it, in two stages:
 * 1. deserialisation: a member of the wrong JSON type is a SerializationException (the request
 *    cannot be read into the shape at all), and so is a body that is not a JSON object;
 * 2. constraints: every violated `required`/`length`/`pattern`/`range`/`enum` trait is collected into one
 *    ValidationException, "N validation error(s) detected: ...; ...". Nested members are named the
 *    way Coral names them: `usageRecords.2.member.usageAllocations.1.member.tags.1.member.key`.
 * Shapes are declared as data (see shapes.ts); an operation only adds a table.
 */
import { protocolError } from './errors.js';

interface Common {
  readonly required?: boolean;
}
export type MemberSpec =
  | (Common & { readonly type: 'string'; readonly min?: number; readonly max?: number; readonly pattern?: string; readonly enum?: readonly string[] })
  | (Common & { readonly type: 'integer'; readonly min?: number; readonly max?: number })
  | (Common & { readonly type: 'boolean' })
  /** Epoch seconds on the wire (AWS JSON's default timestamp format); fractions allowed. */
  | (Common & { readonly type: 'timestamp' })
  | (Common & { readonly type: 'list'; readonly min?: number; readonly max?: number; readonly member: MemberSpec })
  | (Common & { readonly type: 'structure'; readonly members: ShapeSpec });

/** Member name (wire, PascalCase) -> constraints, in the model's member order. */
export type ShapeSpec = Readonly<Record<string, MemberSpec>>;

/** Coral's token names for JSON values it could not convert. */
function jsonKind(v: unknown): string {
  if (typeof v === 'string') return 'STRING_VALUE';
  if (typeof v === 'number') return 'NUMBER_VALUE';
  if (v === true) return 'TRUE_VALUE';
  if (v === false) return 'FALSE_VALUE';
  return 'VALUE';
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The first value in the tree that cannot be read into its shape, depth first in member order. */
function typeProblem(name: string, spec: MemberSpec, v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (spec.type === 'list') {
    if (!Array.isArray(v)) return isObject(v) ? 'Start of structure or map found where not expected.' : `${jsonKind(v)} can not be converted to a List`;
    for (const item of v) {
      const problem = typeProblem(name, spec.member, item);
      if (problem !== undefined) return problem;
    }
    return undefined;
  }
  if (Array.isArray(v)) return 'Start of list found where not expected';
  if (spec.type === 'structure') {
    if (!isObject(v)) return `${jsonKind(v)} can not be converted to a Structure`;
    for (const [child, childSpec] of Object.entries(spec.members)) {
      const problem = typeProblem(child, childSpec, v[child]);
      if (problem !== undefined) return problem;
    }
    return undefined;
  }
  if (isObject(v)) return 'Start of structure or map found where not expected.';
  switch (spec.type) {
    case 'string':
      return typeof v === 'string' ? undefined : `${jsonKind(v)} can not be converted to a String`;
    case 'boolean':
      return typeof v === 'boolean' ? undefined : `${jsonKind(v)} can not be converted to a Boolean`;
    case 'timestamp':
      return typeof v === 'number' ? undefined : `${jsonKind(v)} can not be converted to a Timestamp`;
    case 'integer':
      if (typeof v !== 'number') return `${jsonKind(v)} can not be converted to an Integer`;
      // The emulator refuses fractions and out-of-range numbers rather than silently truncating them,
      // so a client bug that sends 1.5 is seen in tests instead of being papered over.
      if (!Number.isInteger(v) || Math.abs(v) > 2 ** 31 - 1) return `NUMBER_VALUE ${v} of ${name} can not be converted to an Integer`;
      return undefined;
  }
}

/** Coral names members in messages with a lower-case first letter ('productCode'). */
const memberPath = (name: string): string => name.charAt(0).toLowerCase() + name.slice(1);

/** How a value is quoted in a message: scalars as they are, lists and structures as (shortened) JSON. */
function shown(v: unknown): string {
  if (typeof v !== 'object' || v === null) return `'${String(v)}'`;
  const text = JSON.stringify(v);
  return `'${text.length > 120 ? `${text.slice(0, 117)}...` : text}'`;
}

function constraintProblems(path: string, spec: MemberSpec, v: unknown): string[] {
  const at = (why: string): string => `Value ${shown(v)} at '${path}' failed to satisfy constraint: ${why}`;
  if (v === undefined || v === null) return spec.required ? [`Value null at '${path}' failed to satisfy constraint: Member must not be null`] : [];
  const problems: string[] = [];
  if ((spec.type === 'string' && typeof v === 'string') || (spec.type === 'list' && Array.isArray(v))) {
    const length = typeof v === 'string' ? [...v].length : (v as unknown[]).length;
    if (spec.min !== undefined && length < spec.min) problems.push(at(`Member must have length greater than or equal to ${spec.min}`));
    if (spec.max !== undefined && length > spec.max) problems.push(at(`Member must have length less than or equal to ${spec.max}`));
  }
  // The whole value must match, as Coral's (Java's) Pattern.matches does: the model's `\S+` means no space anywhere.
  if (spec.type === 'string' && typeof v === 'string' && spec.pattern !== undefined && !new RegExp(`^(?:${spec.pattern})$`, 'u').test(v)) {
    problems.push(at(`Member must satisfy regular expression pattern: ${spec.pattern}`));
  }
  if (spec.type === 'string' && typeof v === 'string' && spec.enum !== undefined && !spec.enum.includes(v)) {
    problems.push(at(`Member must satisfy enum value set: [${spec.enum.join(', ')}]`));
  }
  if (spec.type === 'integer' && typeof v === 'number') {
    if (spec.min !== undefined && v < spec.min) problems.push(at(`Member must have value greater than or equal to ${spec.min}`));
    if (spec.max !== undefined && v > spec.max) problems.push(at(`Member must have value less than or equal to ${spec.max}`));
  }
  if (spec.type === 'list' && Array.isArray(v)) {
    // A null inside a list is a missing member, not an absent optional one.
    v.forEach((item, i) => problems.push(...constraintProblems(`${path}.${i + 1}.member`, { ...spec.member, required: true }, item)));
  }
  if (spec.type === 'structure' && isObject(v)) problems.push(...shapeProblems(spec.members, v, `${path}.`));
  return problems;
}

function shapeProblems(shape: ShapeSpec, input: Record<string, unknown>, prefix: string): string[] {
  return Object.entries(shape).flatMap(([name, spec]) => constraintProblems(`${prefix}${memberPath(name)}`, spec, input[name]));
}

/** The value with only the members the shape knows, at every level (unknown ones are ignored, as AWS does). */
function known(spec: MemberSpec, v: unknown): unknown {
  if (spec.type === 'list' && Array.isArray(v)) return v.map((item) => known(spec.member, item));
  if (spec.type === 'structure' && isObject(v)) return knownMembers(spec.members, v);
  return v;
}

function knownMembers(shape: ShapeSpec, input: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(shape)
      .filter(([k]) => input[k] !== undefined && input[k] !== null)
      .map(([k, spec]) => [k, known(spec, input[k])]),
  );
}

/** "N validation error(s) detected: ...; ...", Coral's one message for every broken constraint. */
export function validationMessage(problems: readonly string[]): string {
  const n = problems.length;
  return `${n} validation error${n === 1 ? '' : 's'} detected: ${problems.join('; ')}`;
}

/** Every broken constraint of an input already read into its shape's types, in member order. */
export function inputProblems(shape: ShapeSpec, input: Record<string, unknown>): string[] {
  return shapeProblems(shape, input, '');
}

/** The input with only the members the shape knows (unknown ones are ignored, as AWS does). */
export function knownInput(shape: ShapeSpec, input: Record<string, unknown>): Record<string, unknown> {
  return knownMembers(shape, input);
}

/** Parses the raw JSON body and checks it against the shape; returns the input or throws the ApiError AWS would answer. */
export function readInput(shape: ShapeSpec, body: Buffer): Record<string, unknown> {
  let parsed: unknown;
  const text = body.toString('utf8');
  try {
    // An empty body is an empty input structure, as for Coral; botocore and the SDK always send at least `{}`.
    parsed = text.trim() === '' ? {} : JSON.parse(text);
  } catch {
    throw protocolError('SerializationException', 'The request body is not valid JSON.');
  }
  if (Array.isArray(parsed)) throw protocolError('SerializationException', 'Start of list found where not expected');
  if (!isObject(parsed)) throw protocolError('SerializationException', 'The request body must be a JSON object.');

  for (const [name, spec] of Object.entries(shape)) {
    const problem = typeProblem(name, spec, parsed[name]);
    if (problem !== undefined) throw protocolError('SerializationException', problem);
  }
  const problems = inputProblems(shape, parsed);
  if (problems.length > 0) throw protocolError('ValidationException', validationMessage(problems));
  // Unknown members are ignored, as AWS does (older clients may send fields a newer model dropped).
  return knownInput(shape, parsed);
}
