/**
 * Which Host headers the emulator answers, and whether an address is loopback.
 *
 * Why a Host check: the admin surface has no authentication and the API's default credentials are
 * public, so a web page that gets a developer's browser to talk to the emulator must be stopped.
 * Cross-origin requests are stopped elsewhere (admin.ts wants a JSON content type, which a page cannot
 * send cross-origin without a CORS preflight the emulator never grants). DNS rebinding is not
 * cross-origin: the page's own name (evil.example) is made to resolve to 127.0.0.1, and the browser
 * then sends `Host: evil.example:8787`. Refusing every name but `localhost` and the configured ones
 * stops that; an IP literal in Host cannot be rebound, so it is judged by address.
 *
 * Every spelling of an address counts as that address: the Host is normalised with the WHATWG URL
 * parser (what browsers use: `127.1`, `0x7f.0.0.1`, `2130706433` are all 127.0.0.1; `[0:0::1]` is ::1)
 * and judged with node:net's BlockList (IPv4-mapped IPv6 such as ::ffff:127.0.0.1 included).
 */
import { isIP } from 'node:net';
import { isLoopbackIp } from '../shared/addresses.js';

/** A Host's host part, normalised: a lowercase name without a trailing dot, or an IP address without brackets. */
export interface HostName {
  readonly name: string;
  readonly ip: boolean;
}

// reg-name or [IPv6], then an optional port. No userinfo, path, zone id or percent-encoding: no client sends them.
const HOST_HEADER = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::(\d{1,5}))?$/;

/** The host of a Host header (or of one `--allowed-hosts` entry, port optional); undefined when it is not one. */
export function parseHost(text: string): HostName | undefined {
  const m = HOST_HEADER.exec(text);
  if (m === null || Number(m[2] ?? 0) > 65535) return undefined;
  let hostname: string;
  try {
    hostname = new URL(`http://${m[1] ?? ''}/`).hostname;
  } catch {
    return undefined; // e.g. 1.2.3.4.5: ends in a number but is no IPv4 address
  }
  const bare = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
  if (isIP(bare) !== 0) return { name: bare, ip: true };
  return { name: bare.endsWith('.') ? bare.slice(0, -1) : bare, ip: false };
}

export interface HostPolicy {
  /** The emulator listens on a loopback address only: then only loopback Hosts make sense. */
  readonly loopbackOnly: boolean;
  /** Normalised names (and addresses) allowed besides loopback, from `allowedHosts`. */
  readonly allowed: ReadonlySet<string>;
}

/** Whether a request's Host header (all its values) is one the emulator answers. */
export function hostAllowed(values: readonly string[] | undefined, policy: HostPolicy): boolean {
  if (values === undefined || values.length !== 1) return false;
  const host = parseHost(values[0] ?? '');
  if (host === undefined) return false;
  if (policy.allowed.has(host.name)) return true;
  if (host.ip) return isLoopbackIp(host.name) || !policy.loopbackOnly;
  return host.name === 'localhost';
}

/** Problems with `allowedHosts` entries, each named; the normalised set when there are none. */
export function parseAllowedHosts(entries: readonly string[]): { ok: true; allowed: Set<string> } | { ok: false; problems: string[] } {
  const allowed = new Set<string>();
  const problems: string[] = [];
  for (const entry of entries) {
    const host = parseHost(entry);
    if (host === undefined) problems.push(`allowedHosts: ${JSON.stringify(entry)} is not a host name or IP address`);
    else allowed.add(host.name);
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, allowed };
}
