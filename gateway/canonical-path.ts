/**
 * @module The one canonical form of a request target, used by routing, every check, the log and the
 * forwarded request (docs/security.md rule 1). Pure.
 */

/** Why a request target was refused (400). */
export type PathRejection =
  | 'not_origin_form'
  | 'dot_segment'
  | 'encoded_separator'
  | 'backslash'
  | 'control_character'
  | 'non_ascii'
  | 'bad_percent_encoding'
  | 'fragment';

export interface CanonicalTarget {
  /** Canonical path as forwarded: unreserved escapes decoded, other escapes upper-cased, slashes collapsed. */
  path: string;
  /** `path` lower-cased, for case-insensitive route matching. */
  matchPath: string;
  /** The query including its leading `?`, or ''. Passed through unchanged. */
  query: string;
}

const HEX = '0123456789ABCDEF';
/** Escapes decoded to their character: RFC 3986 unreserved minus `.` (see ESCAPE_REFUSED). */
const DECODE = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_~')
  DECODE[c.charCodeAt(0)] = 1;
/**
 * Escapes refused outright: `/` `\` `.` smuggle separators and dot segments past prefix checks, `;` is a
 * segment delimiter to some servers (path parameters), and NUL/controls split strings downstream.
 */
function escapeRefused(code: number): PathRejection | undefined {
  if (code === 0x2f || code === 0x3b) return 'encoded_separator';
  if (code === 0x5c) return 'backslash';
  if (code === 0x2e) return 'encoded_separator';
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
 * Canonicalises a raw request target (`req.url`, or h2 `:path`).
 * @returns the canonical target, or the reason it is refused.
 * @example canonicalizeTarget('//Admin/%7Euser?x=1') // { path: '/Admin/~user', matchPath: '/admin/~user', query: '?x=1' }
 */
export function canonicalizeTarget(raw: string): CanonicalTarget | PathRejection {
  if (raw.charCodeAt(0) !== 0x2f) return 'not_origin_form';
  const q = raw.indexOf('?');
  const rawPath = q === -1 ? raw : raw.slice(0, q);
  const query = q === -1 ? '' : raw.slice(q);
  for (let i = 0; i < query.length; i++) {
    const c = query.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return 'control_character';
    if (c > 0x7e) return 'non_ascii';
    if (c === 0x23) return 'fragment';
  }
  let out = '';
  let segmentStart = 0;
  for (let i = 0; i < rawPath.length; i++) {
    const c = rawPath.charCodeAt(i);
    if (c === 0x2f) {
      const rejection = closeSegment(out, segmentStart);
      if (rejection) return rejection;
      // Repeated slashes collapse into one.
      if (out.charCodeAt(out.length - 1) !== 0x2f) out += '/';
      segmentStart = out.length;
      continue;
    }
    if (c === 0x25) {
      const hi = hexValue(rawPath.charCodeAt(i + 1));
      const lo = hexValue(rawPath.charCodeAt(i + 2));
      if (hi < 0 || lo < 0) return 'bad_percent_encoding';
      const decoded = hi * 16 + lo;
      const refused = escapeRefused(decoded);
      if (refused) return refused;
      out += decoded < 0x80 && DECODE[decoded] ? String.fromCharCode(decoded) : `%${HEX[hi]}${HEX[lo]}`;
      i += 2;
      continue;
    }
    if (c === 0x5c) return 'backslash';
    if (c < 0x20 || c === 0x7f) return 'control_character';
    if (c > 0x7e) return 'non_ascii';
    if (c === 0x23) return 'fragment';
    out += rawPath[i];
  }
  const rejection = closeSegment(out, segmentStart);
  if (rejection) return rejection;
  return { path: out, matchPath: out.toLowerCase(), query };
}

/** Dot segments are refused rather than resolved: a client that sends them is probing. */
function closeSegment(out: string, start: number): PathRejection | undefined {
  const length = out.length - start;
  if (length === 1 && out.charCodeAt(start) === 0x2e) return 'dot_segment';
  if (length === 2 && out.charCodeAt(start) === 0x2e && out.charCodeAt(start + 1) === 0x2e)
    return 'dot_segment';
  return undefined;
}
