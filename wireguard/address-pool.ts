/**
 * @module Pure IPv4 address allocation inside the WireGuard range: server first, peers in the next free hosts.
 */
import { type Cidr, parseCidr } from '../lib/cidr.js';
import { ConflictError, UsageError } from '../lib/errors.js';

/** The WireGuard range must leave room for the server and at least one peer (/30), and stay sane (/8). */
const MIN_PREFIX = 8;
const MAX_PREFIX = 30;

/** Default WireGuard range, as in the example configuration (nginx/mailgate.example.yaml). */
export const DEFAULT_WG_CIDR = '10.8.0.0/24';

/**
 * Parses the WireGuard range given to `wg init --cidr`.
 * @param flag the flag named in errors (default `--cidr`).
 * @throws UsageError naming the flag for anything but an IPv4 network address with prefix /8 to /30.
 * @example parseWireGuardCidr('10.8.0.0/24') // { address: '10.8.0.0', prefix: 24, family: 'ipv4' }
 */
export function parseWireGuardCidr(text: string, flag = '--cidr'): Cidr {
  const cidr = parseCidr(text);
  if (!cidr || !text.includes('/')) {
    throw new UsageError(`${flag} must be an IPv4 range like ${DEFAULT_WG_CIDR}, got '${text}'`);
  }
  if (cidr.family !== 'ipv4') throw new UsageError(`${flag}: only IPv4 ranges are supported, got '${text}'`);
  if (cidr.prefix < MIN_PREFIX || cidr.prefix > MAX_PREFIX) {
    throw new UsageError(`${flag}: the prefix must be /${MIN_PREFIX} to /${MAX_PREFIX}, got '${text}'`);
  }
  const network = networkOf(cidr);
  if (network !== ipv4ToNumber(cidr.address)) {
    // 10.8.0.1/24 is the server's wg-quick Address, not the range; say which one was meant.
    throw new UsageError(
      `${flag}: '${text}' has host bits set; did you mean ${toText(network)}/${cidr.prefix}?`,
    );
  }
  return cidr;
}

/** The server's address: the first host of the range (10.8.0.1 for 10.8.0.0/24). */
export function serverAddress(cidr: Cidr): string {
  return toText(networkOf(cidr) + 1);
}

/** How many peers the range holds: every host except network, server and broadcast. */
export function peerCapacity(cidr: Cidr): number {
  return 2 ** (32 - cidr.prefix) - 3;
}

/**
 * The lowest free peer address: skips the network, server and broadcast addresses and every `used` one,
 * so a removed peer's address is handed out again.
 * @throws ConflictError naming the range when every peer address is taken.
 * @example nextFreeAddress(parseWireGuardCidr('10.8.0.0/24'), ['10.8.0.2']) // '10.8.0.3'
 */
export function nextFreeAddress(cidr: Cidr, used: Iterable<string>): string {
  const network = networkOf(cidr);
  const broadcast = network + 2 ** (32 - cidr.prefix) - 1;
  const taken = new Set<number>();
  for (const address of used) taken.add(ipv4ToNumber(address));
  for (let candidate = network + 2; candidate < broadcast; candidate++) {
    if (!taken.has(candidate)) return toText(candidate);
  }
  throw new ConflictError(
    `the WireGuard range ${formatCidr(cidr)} is full (${peerCapacity(cidr)} peers): remove a peer first`,
  );
}

/** `10.8.0.0/24`. */
export function formatCidr(cidr: Cidr): string {
  return `${cidr.address}/${cidr.prefix}`;
}

function networkOf(cidr: Cidr): number {
  const mask = cidr.prefix === 0 ? 0 : (0xffffffff << (32 - cidr.prefix)) >>> 0;
  return (ipv4ToNumber(cidr.address) & mask) >>> 0;
}

/** `10.8.0.1` as a number, for arithmetic and ordering. */
export function ipv4ToNumber(address: string): number {
  return address.split('.').reduce((sum, octet) => sum * 256 + Number(octet), 0);
}

function toText(value: number): string {
  return [24, 16, 8, 0].map((shift) => (value >>> shift) & 255).join('.');
}
