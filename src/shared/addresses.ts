import { BlockList, isIP, isIPv4, isIPv6 } from 'node:net';

/**
 * Loopback, decided on addresses rather than on their spelling. Two questions, two answers:
 * - `isLoopbackIp`: is this address (as a socket reports it, or as a Host header names it once
 *   normalised) on loopback? Any spelling node:net reads counts, IPv4-mapped IPv6 included.
 * - `loopbackLiteral`: may this configured host be bound as a loopback listener? Only a dotted quad in
 *   127.0.0.0/8 or an IPv6 literal equal to ::1 passes, returned in the spelling that is then bound.
 *   Host names are refused on purpose: a name resolves when the socket is bound, to whatever the
 *   resolver says then, and `0`, `0.0.0.00` or `127.1` are spellings the system resolver turns into
 *   addresses no check on the text would recognise.
 */

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** True for an IP address in 127.0.0.0/8 or ::1, in any spelling node:net reads (IPv4-mapped IPv6 included). */
export function isLoopbackIp(address: string): boolean {
  const family = isIP(address);
  return family !== 0 && LOOPBACK.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** The canonical spelling of a loopback IP literal to bind, or undefined for anything else (names included). */
export function loopbackLiteral(host: string): string | undefined {
  if (isIPv4(host)) return host.startsWith('127.') ? host : undefined;
  if (!isIPv6(host)) return undefined;
  let canonical: string;
  try {
    canonical = new URL(`http://[${host}]/`).hostname;
  } catch {
    return undefined; // a zone id (::1%lo) and the like
  }
  return canonical === '[::1]' ? '::1' : undefined;
}
