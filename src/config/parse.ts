import type { ListenAddress } from '../shared/http.js';
import { SettingProblem } from './flags.js';

/**
 * The typed parsers settings are made of. Each takes the text and the name to blame, and returns the
 * value or throws a SettingProblem that names the setting and says what is allowed.
 */

/** Milliseconds from `500ms`, `90s`, `30m`, `1h`, `30d` or a combination such as `1h30m`; undefined if malformed. */
export function parseDuration(text: string): number | undefined {
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  const units = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
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

/** The items of a comma list, trimmed, empty ones dropped: the one place lists are split. */
export function parseList(text: string): string[] {
  return text.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

/** A duration from `min` to `max` ms; `range` is how the README says it ("from 1s to 24h"). */
export function duration(minMs: number, maxMs: number, range: string) {
  return (text: string, name: string): number => {
    const ms = parseDuration(text);
    if (ms === undefined || ms < minMs || ms > maxMs) throw new SettingProblem(`${name} must be a duration ${range} such as 30m, 90s or 1h30m, got "${text}"`);
    return ms;
  };
}

/** One of a fixed set of words. */
export function oneOf<const W extends readonly string[]>(words: W) {
  return (text: string, name: string): W[number] => {
    if (!(words as readonly string[]).includes(text)) throw new SettingProblem(`${name} must be one of: ${words.join(', ')}, got "${text}"`);
    return text as W[number];
  };
}

/** `host:port` of a listener. */
export function listenAddress(text: string, name: string): ListenAddress {
  const listen = parseListen(text);
  if (listen === undefined) throw new SettingProblem(`${name} must be host:port (port 0-65535), got "${text}"`);
  return listen;
}

/** An integer from `min` to `max`, in decimal digits only (no sign, no exponent, no fraction). */
export function integer(min: number, max: number, what = `an integer from ${min} to ${max}`) {
  return (text: string, name: string): number => {
    const n = /^\d{1,16}$/.test(text) ? Number(text) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new SettingProblem(`${name} must be ${what}, got "${text}"`);
    return n;
  };
}

/** Text as given. */
export function text(value: string): string {
  return value;
}
