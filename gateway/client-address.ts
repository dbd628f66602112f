/**
 * @module Who the client is: the socket's peer, or (only behind a configured trusted proxy) the nearest
 * untrusted hop of X-Forwarded-For. Pure.
 */
import { isIP } from 'node:net';
import type { AddressSet } from '../lib/cidr.js';

/** `::ffff:203.0.113.9` -> `203.0.113.9`; other addresses unchanged. */
export function plainAddress(address: string | undefined): string {
  if (!address) return '';
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

/**
 * The client address to log, rate-limit and forward. X-Forwarded-For is believed only when the peer is in
 * `trusted`, and then read right to left up to the first address that is not itself trusted (a client can
 * prepend anything it likes, so the left end is never believed).
 * @example clientAddress('10.0.0.2', '198.51.100.7, 10.0.0.3', trusted) // '198.51.100.7' if 10.0.0.2/.3 trusted
 */
export function clientAddress(
  peer: string | undefined,
  forwardedFor: string | string[] | undefined,
  trusted: AddressSet,
): string {
  const address = plainAddress(peer);
  if (trusted.size === 0 || !forwardedFor || !trusted.has(address)) return address;
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor).split(',');
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = plainAddress(hops[i]!.trim());
    if (isIP(hop) === 0) return address;
    if (!trusted.has(hop)) return hop;
  }
  return address;
}
