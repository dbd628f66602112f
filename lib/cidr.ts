/**
 * @module CIDR lists parsed once into a `net.BlockList`; lookups on the request path are O(ranges).
 */
import { BlockList, isIP } from 'node:net';

/** A parsed CIDR (`10.8.0.0/24`, `fd00::/64`, or a bare address meaning /32 or /128). */
export interface Cidr {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

/** Parses one CIDR; returns undefined when it is not one. */
export function parseCidr(text: string): Cidr | undefined {
  const [address = '', prefixText, ...rest] = text.trim().split('/');
  const version = isIP(address);
  if (version === 0 || rest.length > 0) return undefined;
  const max = version === 4 ? 32 : 128;
  if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (prefix > max) return undefined;
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/** Distinct peer addresses remembered per set; past this the memo starts over (a scan cannot grow it). */
const MEMO_LIMIT = 4_096;

/**
 * An immutable set of ranges with a `has(address)` check; IPv4-mapped IPv6 peers match IPv4 ranges.
 * `BlockList.check` costs about a microsecond, so answers are memoised per address string.
 */
export class AddressSet {
  readonly #list = new BlockList();
  readonly #memo = new Map<string, boolean>();
  readonly size: number;

  constructor(cidrs: readonly Cidr[]) {
    for (const cidr of cidrs) this.#list.addSubnet(cidr.address, cidr.prefix, cidr.family);
    this.size = cidrs.length;
  }

  /** True when `address` (as `socket.remoteAddress` gives it) lies in one of the ranges. */
  has(address: string | undefined): boolean {
    if (!address || this.size === 0) return false;
    const known = this.#memo.get(address);
    if (known !== undefined) return known;
    const version = isIP(address);
    const inside = version !== 0 && this.#list.check(address, version === 4 ? 'ipv4' : 'ipv6');
    if (this.#memo.size >= MEMO_LIMIT) this.#memo.clear();
    this.#memo.set(address, inside);
    return inside;
  }
}
