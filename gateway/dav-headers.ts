/**
 * @module WebDAV's absolute URLs across the gateway (RFC 4918 §10.3): the request's Destination moved from
 * the public origin to the one the upstream serves, and Location / Content-Location of the response moved
 * back (as nginx's default proxy_redirect does). Pure.
 */

/**
 * The origins one forwarded request is known by. The gateway forwards Host as received, so the upstream
 * sees its own URL as `upstreamScheme://<public authority>` (Radicale refuses a MOVE whose Destination
 * names another host than Host; Apache's mod_dav one with another scheme).
 */
export interface DavOrigins {
  /** The client's authority (Host or :authority as received), e.g. `mail.example.com` or `localhost:8443`. */
  publicAuthority: string;
  /** The upstream's configured origin, e.g. `http://127.0.0.1:8080`. */
  upstreamOrigin: string;
  /** The route prefix removed before forwarding ('' when the route does not strip one); lower case. */
  strippedPrefix: string;
}

/** `scheme://authority` lower-cased with the scheme's default port dropped; undefined for a non-URL. */
function originOf(url: string): { origin: string; rest: string } | undefined {
  const schemeEnd = url.indexOf('://');
  if (schemeEnd <= 0) return undefined;
  const scheme = url.slice(0, schemeEnd).toLowerCase();
  if (scheme !== 'http' && scheme !== 'https') return undefined;
  let end = schemeEnd + 3;
  while (end < url.length) {
    const c = url.charCodeAt(end);
    if (c === 0x2f /* / */ || c === 0x3f /* ? */ || c === 0x23 /* # */) break;
    end++;
  }
  return { origin: normalizedOrigin(scheme, url.slice(schemeEnd + 3, end)), rest: url.slice(end) };
}

function normalizedOrigin(scheme: string, authority: string): string {
  let host = authority.toLowerCase();
  if (host.endsWith(scheme === 'https' ? ':443' : ':80')) host = host.slice(0, host.lastIndexOf(':'));
  return `${scheme}://${host}`;
}

/** The path after a stripped prefix, or undefined when `path` lies outside it (segment boundary, any case). */
function withoutPrefix(path: string, prefix: string): string | undefined {
  if (prefix === '') return path;
  if (path.length < prefix.length || path.slice(0, prefix.length).toLowerCase() !== prefix) return undefined;
  const rest = path.slice(prefix.length);
  if (rest === '' || rest.startsWith('?')) return `/${rest}`;
  // A `;param` right after the prefix has no place in the upstream's path: left for the upstream to refuse.
  return rest.startsWith('/') ? rest : undefined;
}

/**
 * The Destination the upstream should receive. A URL naming the request's own public origin becomes the
 * upstream's view of the same resource: its scheme, the forwarded Host, the path without a stripped
 * prefix. Anything else (another host, a path outside the route) passes unchanged for the upstream to
 * refuse, as it would refuse a copy to a server it is not.
 * @example rewriteDestination('https://mail.example.com/dav/a', { publicAuthority: 'mail.example.com', upstreamOrigin: 'http://10.0.0.2:8080', strippedPrefix: '/dav' }) // 'http://mail.example.com/a'
 */
export function rewriteDestination(value: string, origins: DavOrigins): string {
  // RFC 4918 asks for an absolute URI; some clients send an absolute path, which only needs the prefix.
  if (value.startsWith('/')) return withoutPrefix(value, origins.strippedPrefix) ?? value;
  const parsed = originOf(value);
  if (!parsed || parsed.origin !== normalizedOrigin('https', origins.publicAuthority)) return value;
  const path = withoutPrefix(parsed.rest === '' ? '/' : parsed.rest, origins.strippedPrefix);
  if (path === undefined) return value;
  const scheme = origins.upstreamOrigin.slice(0, origins.upstreamOrigin.indexOf(':'));
  return `${scheme}://${origins.publicAuthority}${path}`;
}

/**
 * A response Location or Content-Location for the client: a URL naming the upstream (its configured
 * origin, or its scheme with the forwarded Host, which is what servers build from Host) is moved to the
 * public https origin, the stripped prefix put back. Others, relative ones included, pass unchanged.
 * @example publicLocation('http://mail.example.com/a/', { publicAuthority: 'mail.example.com', upstreamOrigin: 'http://10.0.0.2:8080', strippedPrefix: '/dav' }) // 'https://mail.example.com/dav/a/'
 */
export function publicLocation(value: string, origins: DavOrigins): string {
  const parsed = originOf(value);
  if (!parsed) return value;
  const upstream = originOf(origins.upstreamOrigin)!.origin;
  const forwarded = normalizedOrigin(upstream.slice(0, upstream.indexOf(':')), origins.publicAuthority);
  if (parsed.origin !== upstream && parsed.origin !== forwarded) return value;
  const rest = parsed.rest === '' || parsed.rest.startsWith('/') ? parsed.rest : `/${parsed.rest}`;
  return `https://${origins.publicAuthority}${origins.strippedPrefix}${rest === '' ? '/' : rest}`;
}
