/**
 * @module The Hono adapter of the admin plane's cross-site decision (admin/cross-site-policy.ts): request headers in, a 403 or
 * 415 in the gateway's error shape out. The reserved app mounts it in front of everything on the admin
 * plane, the admin API and the console alike, so neither can forget it.
 */
import type { MiddlewareHandler } from 'hono';
import { type CrossSiteRefusal, decideCrossSite, requestOrigin } from '../admin/cross-site-policy.js';
import { plainAddress } from './client-address.js';
import { errorResponse } from './http-error.js';
import type { ReservedEnv } from './reserved-app.js';

export interface CrossSiteGuardOptions {
  /** config.publicUrl: its origin is the gateway's own, besides the origin each request addressed. */
  publicUrl: string;
  /** Whether same-origin HTML form posts are allowed on `path` (lower case): the console's pages, not the API. */
  formsAllowed: (path: string) => boolean;
  /** Told about each refusal (audit, metrics). */
  onRefused?: ((refusal: CrossSiteRefused) => void) | undefined;
}

export interface CrossSiteRefused {
  reason: CrossSiteRefusal;
  /** `METHOD path`. */
  target: string;
  /** The socket's peer address. */
  peer: string;
  /** The client certificate's serial (from the admin-plane guard). */
  principal: string | undefined;
}

/**
 * Refuses cross-site requests before any admin handler runs; sets `X-Content-Type-Options: nosniff` on
 * what it lets through. The own origins are the public URL's and the one the request addressed (the
 * admin-plane guard has already matched its Host to the TLS SNI), which covers the admin listener's port
 * and an admin host name without configuring them twice.
 * @example app.use('/_mailgate/admin/*', crossSiteGuard({ publicUrl: config.publicUrl, formsAllowed: () => false }))
 */
export function crossSiteGuard({
  publicUrl,
  formsAllowed,
  onRefused,
}: CrossSiteGuardOptions): MiddlewareHandler<ReservedEnv> {
  const publicOrigin = new URL(publicUrl).origin;
  return async function crossSiteGuardMiddleware(c, next) {
    const headers = c.env.incoming.headers;
    const authority = headers.host ?? (headers[':authority'] as string | undefined) ?? '';
    const own = requestOrigin(authority);
    const path = c.req.path.toLowerCase();
    const decision = decideCrossSite(
      {
        method: c.req.method,
        secFetchSite: headers['sec-fetch-site'],
        secFetchMode: headers['sec-fetch-mode'],
        secFetchDest: headers['sec-fetch-dest'],
        origin: headers.origin,
        contentType: headers['content-type'],
      },
      { ownOrigins: own ? [publicOrigin, own] : [publicOrigin], forms: formsAllowed(path) },
    );
    if (!decision.allowed) {
      onRefused?.({
        reason: decision.reason,
        target: `${c.req.method} ${c.req.path}`,
        peer: plainAddress(c.env.incoming.socket.remoteAddress),
        principal: c.get('decision')?.principal,
      });
      const code = decision.status === 415 ? 'unsupported_media_type' : 'forbidden';
      return errorResponse(code, c.get('requestId'), headers.accept);
    }
    // A browser must never sniff an admin answer (JSON with names and serials) into a script or a page.
    c.header('x-content-type-options', 'nosniff');
    await next();
  };
}
