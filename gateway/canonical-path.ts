/**
 * @module The one canonical form of a request target, used by routing, every check, the log and the
 * forwarded request (docs/security.md rule 1). Pure.
 *
 * A path is refused when a second parser behind the gateway could read it as another path: one that
 * decodes twice (`%25` + two hex digits), drops `;` path parameters (servlet containers: `/x/..;/admin`,
 * `/;x/admin`), decodes overlong UTF-8 (`%C0%AF` as `/`) or strips trailing dots (Windows: `/admin.`).
 * What is not refused is routed by its stricter meaning: `matchPath` drops parameters and trailing dots,
 * so `/admin;jsessionid=1` and `/admin.` match the `/admin` route.
 */

/** Why a request target was refused (400; the access line says `path_<reason>`). */
export type PathRejection =
  | 'not_origin_form'
  | 'dot_segment'
  | 'encoded_separator'
  | 'double_encoding'
  | 'path_parameter'
  | 'invalid_utf8'
  | 'backslash'
  | 'control_character'
  | 'non_ascii'
  | 'bad_percent_encoding'
  | 'fragment';

export interface CanonicalTarget {
  /** Canonical path as forwarded: unreserved escapes decoded, other escapes upper-cased, slashes collapsed. */
  path: string;
  /**
   * `path` lower-cased, without `;` parameters and trailing dots in its segments: the strictest reading
   * of the path, for case-insensitive route matching.
   */
  matchPath: string;
  /** The query including its leading `?`, or ''. Passed through unchanged. */
  query: string;
}

const HEX = '0123456789ABCDEF';
/** Escapes decoded to their character: RFC 3986 unreserved minus `.` (see escapeRefused). */
const DECODE = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_~')
  DECODE[c.charCodeAt(0)] = 1;

/** Raw path characters that need a closer look; 0 passes through as it is. */
const PLAIN = 0;
const SLASH = 1;
const PERCENT = 2;
const SEMICOLON = 3;
const DOT = 4;
const RAW_CLASS = new Uint8Array(128);
RAW_CLASS[0x2f] = SLASH;
RAW_CLASS[0x25] = PERCENT;
RAW_CLASS[0x3b] = SEMICOLON;
RAW_CLASS[0x2e] = DOT;
for (let c = 0; c < 0x20; c++) RAW_CLASS[c] = 5;
RAW_CLASS[0x7f] = 5;
RAW_CLASS[0x5c] = 6;
RAW_CLASS[0x23] = 7;
const RAW_REFUSED: readonly PathRejection[] = ['control_character', 'backslash', 'fragment'];

/**
 * Escapes refused outright: `/` `\` `.` smuggle separators and dot segments past prefix checks, `;` is a
 * segment delimiter to some servers (path parameters), and NUL/controls split strings downstream.
 */
function escapeRefused(code: number): PathRejection | undefined {
  if (code === 0x2f || code === 0x3b || code === 0x2e) return 'encoded_separator';
  if (code === 0x5c) return 'backslash';
  if (code < 0x20 || code === 0x7f) return 'control_character';
  return undefined;
}

function hexValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  const lower = code | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x57;
  return -1;
}

/**
 * Canonicalises a raw request target (`req.url`, or h2 `:path`). Allocates nothing but the result for a
 * path that is already canonical.
 * @returns the canonical target, or the reason it is refused.
 * @example canonicalizeTarget('//Admin/%7Euser?x=1') // { path: '/Admin/~user', matchPath: '/admin/~user', query: '?x=1' }
 * @example canonicalizeTarget('/x/..;/admin') // 'dot_segment'
 */
export function canonicalizeTarget(raw: string): CanonicalTarget | PathRejection {
  if (raw.charCodeAt(0) !== 0x2f) return 'not_origin_form';
  const q = raw.indexOf('?');
  const end = q === -1 ? raw.length : q;
  const query = q === -1 ? '' : raw.slice(q);
  for (let i = 0; i < query.length; i++) {
    const c = query.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return 'control_character';
    if (c > 0x7e) return 'non_ascii';
    if (c === 0x23) return 'fragment';
  }

  /** The rewritten path so far; undefined while it equals raw.slice(0, i). */
  let out: string | undefined;
  /** Current segment: characters before its first `;`, and how many of them are trailing dots. */
  let nameLength = 0;
  let trailingDots = 0;
  let inParameters = false;
  /** Some segment has parameters or trailing dots: matchPath differs from path beyond case. */
  let stripForMatch = false;
  let previousSlash = false;
  /** Hex digits seen since a decoded `%` (-1: none pending). Two of them would decode again. */
  let hexAfterPercent = -1;
  /** UTF-8 continuation bytes still expected, and the range the next one must fall in. */
  let utf8Pending = 0;
  let utf8Low = 0x80;
  let utf8High = 0xbf;

  for (let i = 0; i < end; i++) {
    const c = raw.charCodeAt(i);
    const kind = c < 0x80 ? (RAW_CLASS[c] as number) : 8;
    if (kind === PERCENT) {
      const hi = hexValue(raw.charCodeAt(i + 1));
      const lo = hexValue(raw.charCodeAt(i + 2));
      if (hi < 0 || lo < 0) return 'bad_percent_encoding';
      const byte = hi * 16 + lo;
      if (utf8Pending > 0) {
        if (byte < utf8Low || byte > utf8High) return 'invalid_utf8';
        utf8Pending--;
        utf8Low = 0x80;
        utf8High = 0xbf;
      } else if (byte >= 0x80) {
        // RFC 3629: no overlong forms (C0, C1, E0 80-9F, F0 80-8F), surrogates (ED A0-BF) or > U+10FFFF.
        if (byte < 0xc2 || byte > 0xf4) return 'invalid_utf8';
        utf8Pending = byte < 0xe0 ? 1 : byte < 0xf0 ? 2 : 3;
        if (byte === 0xe0) utf8Low = 0xa0;
        else if (byte === 0xed) utf8High = 0x9f;
        else if (byte === 0xf0) utf8Low = 0x90;
        else if (byte === 0xf4) utf8High = 0x8f;
      } else {
        const refused = escapeRefused(byte);
        if (refused) return refused;
      }
      const decode = byte < 0x80 && DECODE[byte] === 1;
      if (decode) {
        out ??= raw.slice(0, i);
        out += String.fromCharCode(byte);
      } else if (out !== undefined) {
        out += `%${HEX[hi]}${HEX[lo]}`;
      } else if (
        raw.charCodeAt(i + 1) !== HEX.charCodeAt(hi) ||
        raw.charCodeAt(i + 2) !== HEX.charCodeAt(lo)
      ) {
        // Lower-case hex digits are upper-cased; an escape already canonical (`%20`) is kept as it is.
        out = `${raw.slice(0, i)}%${HEX[hi]}${HEX[lo]}`;
      }
      if (hexAfterPercent >= 0) {
        if (decode && hexValue(byte) >= 0) {
          if (++hexAfterPercent === 2) return 'double_encoding';
        } else hexAfterPercent = -1;
      }
      if (byte === 0x25) hexAfterPercent = 0;
      if (!inParameters) {
        nameLength++;
        trailingDots = 0;
      }
      previousSlash = false;
      i += 2;
      continue;
    }
    if (utf8Pending > 0) return 'invalid_utf8';
    if (kind === PLAIN) {
      if (hexAfterPercent >= 0) {
        if (hexValue(c) < 0) hexAfterPercent = -1;
        else if (++hexAfterPercent === 2) return 'double_encoding';
      }
      if (!inParameters) {
        nameLength++;
        trailingDots = 0;
      }
      previousSlash = false;
      if (out !== undefined) out += raw[i];
      continue;
    }
    if (kind === 8) return 'non_ascii';
    if (kind > 4) return RAW_REFUSED[kind - 5] as PathRejection;
    hexAfterPercent = -1;
    if (kind === SLASH) {
      const rejection = closeSegment(nameLength, trailingDots, inParameters);
      if (rejection) return rejection;
      if (inParameters || trailingDots > 0) stripForMatch = true;
      nameLength = 0;
      trailingDots = 0;
      inParameters = false;
      if (previousSlash) {
        // Repeated slashes collapse into one.
        out ??= raw.slice(0, i);
        continue;
      }
      previousSlash = true;
    } else {
      if (kind === SEMICOLON) inParameters = true;
      else if (!inParameters) {
        nameLength++;
        trailingDots++;
      }
      previousSlash = false;
    }
    if (out !== undefined) out += raw[i];
  }
  if (utf8Pending > 0) return 'invalid_utf8';
  const rejection = closeSegment(nameLength, trailingDots, inParameters);
  if (rejection) return rejection;
  if (inParameters || trailingDots > 0) stripForMatch = true;
  const path = out ?? (q === -1 ? raw : raw.slice(0, q));
  return { path, matchPath: stripForMatch ? strictMatchPath(path) : path.toLowerCase(), query };
}

/**
 * Refuses a segment that means something else to a parser that drops `;` parameters or trailing dots:
 * dot segments (`..`, `..;x`, `...`) are probing, and an empty name with parameters (`/;x/admin`)
 * would shift every following segment up by one.
 */
function closeSegment(
  nameLength: number,
  trailingDots: number,
  inParameters: boolean,
): PathRejection | undefined {
  if (nameLength === 0) return inParameters ? 'path_parameter' : undefined;
  if (trailingDots === nameLength) return 'dot_segment';
  return undefined;
}

/** `path` lower-cased with each segment's `;` parameters and trailing dots removed (rare: allocates). */
function strictMatchPath(path: string): string {
  const segments = path.toLowerCase().split('/');
  for (let i = 0; i < segments.length; i++) {
    let segment = segments[i] as string;
    const parameters = segment.indexOf(';');
    if (parameters !== -1) segment = segment.slice(0, parameters);
    let length = segment.length;
    while (length > 0 && segment.charCodeAt(length - 1) === 0x2e) length--;
    segments[i] = segment.slice(0, length);
  }
  return segments.join('/');
}

/**
 * What a `stripPrefix` route forwards: the canonical `path` after as many segments as the route's `prefix`
 * has. Counted in segments, not characters, because the route matched `matchPath`, which has no `;`
 * parameters or trailing dots (`/app;v=1/x` and `/app./x` match `/app` and forward `/x`, never `;v=1/x`).
 * @example pathAfterPrefix('/App;v=1/x', '/app') // '/x'
 */
export function pathAfterPrefix(path: string, prefix: string): string {
  let segments = 0;
  for (let i = 0; i < prefix.length; i++) if (prefix.charCodeAt(i) === 0x2f) segments++;
  for (let i = 1; i < path.length; i++) {
    if (path.charCodeAt(i) === 0x2f && --segments === 0) return path.slice(i);
  }
  return '/';
}
