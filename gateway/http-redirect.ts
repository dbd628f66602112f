/**
 * @module The plain-HTTP listener: ACME HTTP-01 challenges go through the normal pipeline (to Mailcow's
 * public route), everything else is redirected to https with 308 (method and body preserved).
 */
import type { RequestListener } from 'node:http';
import type { AddressSet } from '../lib/cidr.js';
import { canonicalizeTarget } from './canonical-path.js';
import { clientAddress } from './client-address.js';
import { type AccessRecorder, newRequestRecord } from './request-record.js';
import { normalizeHost } from './route-table.js';

const ACME_PREFIX = '/.well-known/acme-challenge/';
const HOST_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;
/** The metric and access-line route of every redirect: a fixed label, never the client-chosen path. */
export const REDIRECT_ROUTE = 'redirect';

export interface RedirectOptions {
  /** The https URL whose port (and, for odd Host headers, host) the redirect uses. */
  publicUrl: string;
  /** The main request listener, for ACME challenges (it writes their access lines itself). */
  pipeline: RequestListener;
  /** Writes each redirect's access line and counts it in the request metrics. */
  recorder: AccessRecorder;
  /** The trusted proxies of the current configuration (they change on reload). */
  trustedProxies: () => AddressSet;
}

/**
 * Creates the plain-HTTP request listener.
 * @example createPlainServer(createRedirectHandler({ publicUrl, pipeline, recorder, trustedProxies }), tracker, limits)
 */
export function createRedirectHandler({
  publicUrl,
  pipeline,
  recorder,
  trustedProxies,
}: RedirectOptions): RequestListener {
  const base = new URL(publicUrl);
  const portSuffix = base.port ? `:${base.port}` : '';
  return function mailgateRedirect(req, res) {
    const target = canonicalizeTarget(req.url ?? '');
    if (typeof target !== 'string' && target.matchPath.startsWith(ACME_PREFIX)) {
      pipeline(req, res);
      return;
    }
    const record = newRequestRecord(req.method);
    record.route = REDIRECT_ROUTE;
    record.plane = 'public';
    record.client = clientAddress(req.socket.remoteAddress, req.headers['x-forwarded-for'], trustedProxies());
    record.path = typeof target === 'string' ? (req.url ?? '').slice(0, 256) : target.path;
    // The redirect is written at once: the status is always 308, `aborted` when it never reached the client.
    res.once('close', () => recorder.finish(record, 308, res.writableFinished));
    const requested = normalizeHost(req.headers.host);
    const host = HOST_NAME.test(requested) ? requested : base.hostname;
    const path = typeof target === 'string' ? '/' : target.path + target.query;
    res.writeHead(308, {
      location: `https://${host}${portSuffix}${path}`,
      'content-length': 0,
      'cache-control': 'no-store',
    });
    res.end();
  };
}
