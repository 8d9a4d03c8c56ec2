import { parseArgs } from 'node:util';

/**
 * THE reader of settings from the command line and the environment, for every command (run, register,
 * verify, check, emulator): `--name value` and `--name=value` through node:util's parseArgs, flags win
 * over environment variables, an empty variable counts as unset, and every typed parser's problem is
 * collected, so a command reports all of them at once, each naming the flag or variable and what is
 * allowed.
 */

/** Thrown by a setting's parser: what is wrong, naming the setting (the message is shown as is). */
export class SettingProblem extends Error {
  override readonly name = 'SettingProblem';
}

export interface SettingSpec<T> {
  /** The command-line form, without the dashes. */
  readonly flag: string;
  /** The environment variables it falls back to, first one set wins. */
  readonly env: readonly string[];
  /** The text used when neither is given. */
  readonly default?: string;
  /** Turns the text into the value, or throws SettingProblem naming `name` (the flag or variable) and what is allowed. */
  readonly parse: (text: string, name: string) => T;
}

export type SettingsTable = Readonly<Record<string, SettingSpec<unknown>>>;

/** The parsed value of each setting (undefined when not given and without default, or when it did not parse). */
export type SettingValues<T extends SettingsTable> = { -readonly [K in keyof T]: ReturnType<T[K]['parse']> | undefined };

export interface ReadSettings<T extends SettingsTable> {
  readonly values: SettingValues<T>;
  /** The name each value came from (`--flag`, a variable, or the default's owner), for messages. */
  readonly names: { readonly [K in keyof T]: string };
  /** Whether the value was given (flag or variable) rather than defaulted. */
  readonly given: { readonly [K in keyof T]: boolean };
  readonly problems: string[];
}

export interface ReadOptions {
  /** How the command is named in messages: "entitlement-sidecar run". */
  readonly command: string;
  /**
   * Whose name a problem carries: the flag or variable it came from (`source`), or always the first
   * variable (`env`: commands documented by their variables, where a flag is only a second spelling).
   */
  readonly blame?: 'source' | 'env';
}

/** Reads and parses every setting of `table` from `argv` and `env`. Positional arguments are problems. */
export function readSettings<T extends SettingsTable>(table: T, argv: readonly string[], env: NodeJS.ProcessEnv, options: ReadOptions): ReadSettings<T> {
  const byFlag = new Map(Object.entries(table).map(([key, spec]) => [spec.flag, key]));
  const { tokens } = parseArgs({
    args: [...argv],
    options: Object.fromEntries(Object.values(table).map((spec) => [spec.flag, { type: 'string' as const }])),
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const problems: string[] = [];
  const fromFlags = new Map<string, string>();
  const positionals: string[] = [];
  for (const token of tokens) {
    if (token.kind === 'positional') positionals.push(token.value);
    else if (token.kind === 'option-terminator') continue;
    else if (!byFlag.has(token.name)) {
      problems.push(`${token.rawName} is not a flag of ${options.command}; its flags: ${Object.values(table).map((s) => `--${s.flag}`).join(', ')}`);
    } else if (token.value === undefined || (!token.inlineValue && /^--[a-z]/.test(token.value))) {
      // A PEM value starts with dashes too; only a flag-shaped word means the value is missing.
      problems.push(`--${token.name} needs a value`);
    } else fromFlags.set(token.name, token.value);
  }
  if (positionals.length > 0) {
    problems.push(`unexpected argument(s) ${positionals.map((p) => JSON.stringify(p)).join(' ')}: ${options.command} takes flags only`);
  }
  const values: Record<string, unknown> = {};
  const names: Record<string, string> = {};
  const given: Record<string, boolean> = {};
  for (const [key, spec] of Object.entries(table)) {
    const flagged = fromFlags.get(spec.flag);
    const variable = spec.env.find((name) => env[name] !== undefined && env[name] !== '');
    const text = flagged ?? (variable === undefined ? spec.default : env[variable]);
    const name = options.blame === 'env' ? (spec.env[0] ?? `--${spec.flag}`) : flagged !== undefined ? `--${spec.flag}` : (variable ?? (spec.env[0] ?? `--${spec.flag}`));
    names[key] = name;
    given[key] = flagged !== undefined || variable !== undefined;
    if (text === undefined) continue;
    try {
      values[key] = spec.parse(text, name);
    } catch (err) {
      if (!(err instanceof SettingProblem)) throw err;
      problems.push(err.message);
    }
  }
  return { values: values as SettingValues<T>, names: names as ReadSettings<T>['names'], given: given as ReadSettings<T>['given'], problems };
}
