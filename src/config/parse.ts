import type { ListenAddress } from '../shared/http.js';

/**
 * Command-line flags as a second source of the same settings as the environment.
 * `--name value` and `--name=value`; flags win over environment variables.
 */

export interface ParsedArgs {
  readonly flags: ReadonlyMap<string, string>;
  readonly positionals: readonly string[];
  readonly problems: readonly string[];
}

export function parseArgs(argv: readonly string[], known: ReadonlySet<string>): ParsedArgs {
  const flags = new Map<string, string>();
  const positionals: string[] = [];
  const problems: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith('--')) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    if (!known.has(name)) {
      problems.push(`--${name} is not a known flag; known flags: ${[...known].map((k) => `--${k}`).join(', ')}`);
      continue;
    }
    let value: string | undefined;
    if (eq !== -1) {
      value = arg.slice(eq + 1);
    } else {
      value = argv[i + 1];
      // A PEM value starts with dashes too; only a flag-shaped word means the value is missing.
      if (value === undefined || /^--[a-z]/.test(value)) {
        problems.push(`--${name} needs a value`);
        continue;
      }
      i++;
    }
    flags.set(name, value);
  }
  return { flags, positionals, problems };
}

/** Milliseconds from `500ms`, `90s`, `30m`, `1h` or a combination such as `1h30m`; undefined if malformed. */
export function parseDuration(text: string): number | undefined {
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  const units = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    total += Number(m[1]) * units[m[2] as keyof typeof units];
    matched = re.lastIndex;
  }
  return matched === text.length && text.length > 0 ? Math.round(total) : undefined;
}


/** `host:port` or `[v6]:port`; undefined if malformed. Port 0 asks the OS for a free port. */
export function parseListen(text: string): ListenAddress | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(text);
  if (m === null) return undefined;
  const port = Number(m[3]);
  if (port > 65535) return undefined;
  return { host: (m[1] ?? m[2]) as string, port };
}

