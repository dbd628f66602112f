/**
 * @module The plain-HTTP listener: ACME HTTP-01 challenges go through the normal pipeline (to Mailcow's
 * public route), everything else is redirected to https with 308 (method and body preserved).
 */
import type { RequestListener } from 'node:http';
import { canonicalizeTarget } from './canonical-path.js';
import type { GatewayRequest } from './plane-guard.js';
import type { GatewayResponse } from './proxy.js';
import { normalizeHost } from './route-table.js';

const ACME_PREFIX = '/.well-known/acme-challenge/';
const HOST_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;

/**
 * @param publicUrl the https URL whose port (and, for odd Host headers, host) the redirect uses.
 * @param pipeline the main request listener, for ACME challenges.
 */
export function createRedirectHandler(
  publicUrl: string,
  pipeline: (req: GatewayRequest, res: GatewayResponse) => void,
): RequestListener {
  const base = new URL(publicUrl);
  const portSuffix = base.port ? `:${base.port}` : '';
  return function mailgateRedirect(req, res) {
    const target = canonicalizeTarget(req.url ?? '');
    if (typeof target !== 'string' && target.matchPath.startsWith(ACME_PREFIX)) {
      pipeline(req, res);
      return;
    }
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
