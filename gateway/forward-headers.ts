/**
 * @module The headers sent to the upstream (docs/security.md rule 6): inbound identity and hop-by-hop headers
 * scrubbed, forwarding headers overwritten, the authenticated identity added. Pure.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { util } from 'undici';

const { headerNameToString } = util;

/** RFC 9110 §7.6.1 hop-by-hop headers, plus ones undici or h2 refuse to carry. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'proxy-authenticate',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'expect',
  'http2-settings',
]);

/** Exact names a client could use to impersonate the gateway's own identity or forwarding headers. */
const SCRUBBED = new Set(['forwarded', 'x-real-ip', 'client-cert', 'client-cert-chain']);
const SCRUBBED_PREFIXES = ['x-mailgate-', 'x-forwarded-', 'x-client-', 'x-ssl-'];

/** What the request's plane decided to tell the upstream. */
export interface ForwardOptions {
  /** Address the upstream should see as the client. */
  clientAddress: string;
  /** Host as received (Host or :authority), preserved. */
  host: string;
  requestId: string;
  /** Keep X-API-Key (admin routes only). */
  keepApiKey: boolean;
  /** Keep Authorization (public and admin routes; token routes only with forwardAuthorization). */
  keepAuthorization: boolean;
  /** Identity headers set by the plane guard (X-Mailgate-*). */
  identity?: Record<string, string> | undefined;
  /** Scheme the client used: `http` only for ACME challenges on the plain listener; https by default. */
  proto?: 'http' | 'https' | undefined;
}

/**
 * Header names a Connection header lists (RFC 9110 §7.6.1), to be dropped with it. The usual values,
 * keep-alive and close, name no header that is not dropped anyway: no Set for them.
 */
function connectionTokens(value: string | string[] | undefined): Set<string> | undefined {
  if (value === undefined) return undefined;
  const text = (typeof value === 'string' ? value : value.join(',')).toLowerCase();
  if (text === 'keep-alive' || text === 'close') return undefined;
  return new Set(text.split(',').map((token) => token.trim()));
}

function scrubbed(name: string, listed: Set<string> | undefined, options: ForwardOptions): boolean {
  if (name.charCodeAt(0) === 0x3a) return true; // h2 pseudo-headers
  if (HOP_BY_HOP.has(name)) return true;
  if (SCRUBBED.has(name)) return true;
  if (name.charCodeAt(0) === 0x78 /* x */) {
    for (const prefix of SCRUBBED_PREFIXES) if (name.startsWith(prefix)) return true;
    if (name === 'x-api-key') return !options.keepApiKey;
  }
  if (name === 'authorization') return !options.keepAuthorization;
  if (name === 'host') return true; // re-set below from the normalised authority
  return listed?.has(name) ?? false;
}

/**
 * Builds the upstream request headers from the inbound ones.
 * @example forwardHeaders(req.headers, { clientAddress: '203.0.113.9', host: 'mail.example.com', requestId, keepApiKey: false, keepAuthorization: true })
 */
export function forwardHeaders(inbound: IncomingHttpHeaders, options: ForwardOptions): OutgoingHttpHeaders {
  const listed = connectionTokens(inbound.connection);
  const out: OutgoingHttpHeaders = {};
  for (const name in inbound) {
    if (scrubbed(name, listed, options)) continue;
    const value = inbound[name];
    if (value !== undefined) out[name] = value;
  }
  out.host = options.host;
  out['x-forwarded-for'] = options.clientAddress;
  out['x-real-ip'] = options.clientAddress;
  out['x-forwarded-proto'] = options.proto ?? 'https';
  out['x-forwarded-host'] = options.host;
  out['x-request-id'] = options.requestId;
  if (options.identity) Object.assign(out, options.identity);
  return out;
}

/**
 * Headers of the upstream response that may go to the client, read from its raw list (names and values as
 * received, Buffers from undici or strings from node:http): names lower-cased, repeats joined into an array,
 * hop-by-hop ones removed (h2 forbids them). Built in one pass, without undici's parsed object in between.
 * @example responseHeaders(['Content-Type', 'text/plain', 'Connection', 'close']) // { 'content-type': 'text/plain' }
 */
export function responseHeaders(raw: readonly (Buffer | string)[]): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  let connection: string | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    // undici's own lookup: the usual names come back as shared strings, nothing allocated.
    const name = headerNameToString(raw[i]!);
    const value = raw[i + 1]!;
    const text = typeof value === 'string' ? value : value.toString('latin1');
    if (HOP_BY_HOP.has(name)) {
      // Several Connection fields are one comma-separated list (RFC 9110 §5.3).
      if (name === 'connection') connection = connection === undefined ? text : `${connection},${text}`;
      continue;
    }
    // Never a header: set on a plain object it would replace the prototype, not add a field.
    if (name === '__proto__') continue;
    // Only strings and arrays are ever stored: anything else read here (undefined, or what a plain object
    // inherits under names like constructor or toString) means the header is new.
    const seen = out[name];
    if (typeof seen === 'string') out[name] = [seen, text];
    else if (Array.isArray(seen)) seen.push(text);
    else out[name] = text;
  }
  const listed = connectionTokens(connection);
  if (listed !== undefined) for (const name of listed) delete out[name];
  return out;
}
