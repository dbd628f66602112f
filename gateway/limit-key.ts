/**
 * @module The key every per-address limit counts a client under: an IPv4 address as itself, an IPv6
 * address by its prefix (a client holds a whole /64 or more and can take a new address per connection).
 */

/** Distinct IPv6 addresses whose key LimitKeys remembers; past it the memo starts over (a scan cannot grow it). */
const KEY_MEMO_LIMIT = 4_096;

/**
 * limitKey with the configured prefix, for the request path: IPv4 costs one scan for a colon; an IPv6
 * address is parsed once while it is remembered (a keep-alive client or a busy /64 asks again and again).
 */
export class LimitKeys {
  readonly #ipv6Prefix: number;
  readonly #memo = new Map<string, string>();

  /** @param ipv6Prefix config `limits.clientIpv6Prefix` */
  constructor(ipv6Prefix: number) {
    this.#ipv6Prefix = ipv6Prefix;
  }

  /** The limit key of `address` (see limitKey). */
  of(address: string): string {
    if (address.indexOf(':') === -1) return address;
    let key = this.#memo.get(address);
    if (key === undefined) {
      key = limitKey(address, this.#ipv6Prefix);
      if (this.#memo.size >= KEY_MEMO_LIMIT) this.#memo.clear();
      this.#memo.set(address, key);
    }
    return key;
  }
}

/** Scratch for limitKey's parse: eight 16-bit groups (reused; the parse is synchronous). */
const groups = new Uint16Array(8);

/**
 * The key every per-address limit counts under (docs/security.md rule 9): an IPv4 address as itself, an
 * IPv6 address masked to its first `ipv6Prefix` bits and written canonically (RFC 5952) with the prefix,
 * since a client usually holds a whole /64 (often a /56 or /48) and could take a new address for every
 * connection. IPv4-mapped (`::ffff:192.0.2.1`) and NAT64 (`64:ff9b::192.0.2.1`, RFC 6052) addresses are
 * IPv4 clients and get the IPv4 key; a zone id (`%eth0`) is ignored. Never throws: text that is not an
 * address (callers pass socket peers and forwarded hops isIP accepted) is its own key. Only keys are
 * grouped: logs and the audit keep the full address.
 * @param ipv6Prefix 1 to 128 (config `limits.clientIpv6Prefix`); 128 keys each IPv6 address on its own
 * @example limitKey('2001:DB8:0:0:1::9', 64) // '2001:db8::/64'
 * @example limitKey('::ffff:192.0.2.1', 64) // '192.0.2.1'
 */
export function limitKey(address: string, ipv6Prefix: number): string {
  // IPv4, the common case: one scan for a colon.
  if (address.indexOf(':') === -1) return address;
  const zone = address.indexOf('%');
  if (zone !== -1 && !isZoneId(address, zone + 1)) return address;
  if (!parseIpv6(address, zone === -1 ? address.length : zone)) return address;
  if (groups[0] === 0 && groups[1] === 0 && groups[2] === 0 && groups[3] === 0 && groups[4] === 0) {
    if (groups[5] === 0xffff) return embeddedIpv4();
  } else if (
    groups[0] === 0x64 &&
    groups[1] === 0xff9b &&
    (groups[2]! | groups[3]! | groups[4]! | groups[5]!) === 0
  ) {
    return embeddedIpv4();
  }
  for (let i = 0; i < 8; i++) {
    const bits = ipv6Prefix - 16 * i;
    if (bits <= 0) groups[i] = 0;
    else if (bits < 16) groups[i]! &= 0xffff << (16 - bits);
  }
  const text = canonicalIpv6();
  return ipv6Prefix >= 128 ? text : `${text}/${ipv6Prefix}`;
}

/** The last 32 bits of `groups` as a dotted IPv4 address. */
function embeddedIpv4(): string {
  const high = groups[6]!;
  const low = groups[7]!;
  return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
}

/**
 * Whether `text` from `start` is a zone id as net.isIP takes one: at least one of `0-9 A-Z a-z - . :`.
 * It names an interface, not a client, and is left out of the key; any other text makes no address.
 */
function isZoneId(text: string, start: number): boolean {
  if (start === text.length) return false;
  for (let i = start; i < text.length; i++) {
    const code = text.charCodeAt(i);
    const lower = code | 0x20;
    if (!((code >= 45 && code <= 58 && code !== 47) || (lower >= 97 && lower <= 122))) return false;
  }
  return true;
}

/** The value of a hex digit's char code, or -1. */
function hexValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  const lower = code | 0x20;
  return lower >= 97 && lower <= 102 ? lower - 87 : -1;
}

/**
 * Reads `text` up to `end` into `groups`: hex groups of one to four digits (any case), at most one `::`,
 * an IPv4 tail in dotted decimal without leading zeros. False, with `groups` in any state, when it is not
 * an IPv6 address.
 */
function parseIpv6(text: string, end: number): boolean {
  let count = 0;
  let gap = -1;
  let i = 0;
  if (text.charCodeAt(0) === 58) {
    if (text.charCodeAt(1) !== 58) return false;
    gap = 0;
    i = 2;
  }
  while (i < end) {
    let value = 0;
    let j = i;
    for (
      let digit = hexValue(text.charCodeAt(j));
      digit !== -1 && j - i < 5;
      digit = hexValue(text.charCodeAt(++j))
    )
      value = value * 16 + digit;
    if (j < end && text.charCodeAt(j) === 46) {
      if (count > 6 || !parseIpv4Tail(text, i, end, count)) return false;
      count += 2;
      break;
    }
    if (j === i || j - i > 4 || count === 8) return false;
    groups[count++] = value;
    if (j === end) break;
    if (text.charCodeAt(j) !== 58 || ++j === end) return false;
    if (text.charCodeAt(j) === 58) {
      if (gap !== -1) return false;
      gap = count;
      j++;
    }
    i = j;
  }
  if (gap === -1) return count === 8;
  if (count > 7) return false;
  // Move the groups after `::` to the end and zero the gap.
  const after = count - gap;
  for (let k = 0; k < after; k++) groups[7 - k] = groups[count - 1 - k]!;
  for (let k = gap; k < 8 - after; k++) groups[k] = 0;
  return true;
}

/** Dotted-decimal IPv4 from `start` to `end` into groups[at] and groups[at + 1]; false when it is not one. */
function parseIpv4Tail(text: string, start: number, end: number, at: number): boolean {
  let octets = 0;
  let value = 0;
  let digits = 0;
  let address = 0;
  for (let j = start; j <= end; j++) {
    const code = j === end ? 46 : text.charCodeAt(j);
    if (code === 46) {
      if (digits === 0 || value > 255 || ++octets > 4) return false;
      address = address * 256 + value;
      value = 0;
      digits = 0;
    } else if (code >= 48 && code <= 57 && digits < 3 && !(digits === 1 && value === 0)) {
      // No leading zero: `010` is 8 to inet_aton's octal and no address to net.isIP or URL.
      value = value * 10 + code - 48;
      digits++;
    } else return false;
  }
  if (octets !== 4) return false;
  groups[at] = address >>> 16;
  groups[at + 1] = address & 0xffff;
  return true;
}

/** `groups` as RFC 5952 text: lower-case hex without leading zeros, the first longest run of 2+ zero groups as `::`. */
function canonicalIpv6(): string {
  let runStart = -1;
  let runLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > runLength) {
      runStart = i;
      runLength = j - i;
    }
    i = j;
  }
  let text = '';
  for (let i = 0; i < 8; i++) {
    if (i === runStart) {
      text += '::';
      i += runLength - 1;
      continue;
    }
    text += i === 7 || i + 1 === runStart ? groups[i]!.toString(16) : `${groups[i]!.toString(16)}:`;
  }
  return text;
}
