/**
 * @module The cross-site request decision for everything under /_mailgate/admin/ (API and console), as a
 * pure function of method, Fetch Metadata, Origin, Content-Type and the gateway's own origins.
 *
 * Why: a browser attaches its client certificate to every request to the gateway, cross-site ones
 * included (SameSite governs cookies only), and an admin's browser sits inside the WireGuard range; any
 * page the admin opens could otherwise drive the admin plane as the admin. The decision:
 * 1. `Sec-Fetch-Site` (every current browser sends it; a page cannot forge it) decides for browsers:
 *    `same-origin` and `none` (typed URL, bookmark) pass. `same-site` (a sibling host such as the webmail,
 *    whose XSS must not reach the API) and `cross-site` pass only as a top-level GET/HEAD navigation (a link
 *    into the console, which then runs as a same-origin page); never an unsafe method, a fetch or a frame.
 *    Unknown values are refused.
 * 2. An `Origin`, when present, must be one of the gateway's own origins, with or without Fetch Metadata
 *    (older browsers send only Origin); `Origin: null` (sandboxed frames, cross-origin redirects) is refused,
 *    except with `Sec-Fetch-Site: same-origin`: a page under `Referrer-Policy: no-referrer` (the console's)
 *    sends `null` for its own form posts and fetches (Fetch §3.1.5 "append a request Origin header"),
 *    while an opaque or redirect-tainted initiator never gets `same-origin` (Fetch Metadata §2.1).
 *    Clients without either header (the CLI, curl, scripts) are not browsers and pass this check: the
 *    client certificate is theirs to use.
 * 3. Unsafe methods need `application/json`, even with an empty body: a cross-site HTML form or `no-cors`
 *    fetch can only send form and text types, so this holds even if a browser got 1 and 2 wrong.
 *    The console's own HTML forms (`forms: true`) may send `application/x-www-form-urlencoded` or
 *    `multipart/form-data`, but only with `Sec-Fetch-Site: same-origin`: then the browser itself vouches
 *    that the form is on the console's own page, which no other site can make it say. Without Fetch
 *    Metadata a form type is refused as on the API (a browser that old must not submit admin forms).
 */

/** What the decision reads from one request; header values as received (undefined when absent). */
export interface CrossSiteRequest {
  method: string;
  secFetchSite: string | undefined;
  secFetchMode: string | undefined;
  secFetchDest: string | undefined;
  origin: string | undefined;
  contentType: string | undefined;
}

export interface CrossSitePolicy {
  /** The gateway's own origins, ASCII lower case, default port omitted (`https://mail.example.com`). */
  ownOrigins: readonly string[];
  /** Same-origin HTML form content types allowed for unsafe methods (the console), besides JSON. */
  forms: boolean;
}

export type CrossSiteRefusal = 'cross_site' | 'foreign_origin' | 'json_required';

export type CrossSiteDecision =
  | { allowed: true }
  | { allowed: false; status: 403 | 415; reason: CrossSiteRefusal };

const ALLOW: CrossSiteDecision = { allowed: true };
const CROSS_SITE: CrossSiteDecision = { allowed: false, status: 403, reason: 'cross_site' };
const FOREIGN_ORIGIN: CrossSiteDecision = { allowed: false, status: 403, reason: 'foreign_origin' };
const JSON_REQUIRED: CrossSiteDecision = { allowed: false, status: 415, reason: 'json_required' };

/** RFC 9110 §9.2.1: methods defined as safe (no state change requested). */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** RFC 8259 §11, with or without parameters. */
const JSON_TYPE = /^application\/json\s*(;|$)/i;
/** What an HTML form can send besides text/plain (WHATWG HTML §4.10.21.7). */
const FORM_TYPE = /^(application\/x-www-form-urlencoded|multipart\/form-data)\s*(;|$)/i;

/**
 * Decides whether a request to the admin plane may proceed as far as cross-site defence goes (the
 * admin-plane guard has already checked certificate, source and role).
 * @example decideCrossSite({ method: 'POST', secFetchSite: 'cross-site', secFetchMode: 'navigate', secFetchDest: 'document', origin: 'https://evil.example', contentType: 'application/x-www-form-urlencoded' }, { ownOrigins, forms: false }) // refused: cross_site
 */
export function decideCrossSite(request: CrossSiteRequest, policy: CrossSitePolicy): CrossSiteDecision {
  const safe = SAFE_METHODS.has(request.method);
  const site = request.secFetchSite;
  if (site !== undefined && site !== 'same-origin' && site !== 'none') {
    if (site !== 'same-site' && site !== 'cross-site') return CROSS_SITE;
    const topLevelNavigation =
      request.method !== 'OPTIONS' &&
      request.secFetchMode === 'navigate' &&
      request.secFetchDest === 'document';
    if (!safe || !topLevelNavigation) return CROSS_SITE;
  }
  if (
    request.origin !== undefined &&
    !policy.ownOrigins.includes(request.origin.toLowerCase()) &&
    !(request.origin === 'null' && site === 'same-origin')
  )
    return FOREIGN_ORIGIN;
  if (safe) return ALLOW;
  const type = request.contentType ?? '';
  if (JSON_TYPE.test(type)) return ALLOW;
  if (policy.forms && site === 'same-origin' && FORM_TYPE.test(type)) return ALLOW;
  return JSON_REQUIRED;
}

/**
 * The origin a request addressed (`https://` + its Host or :authority), in the form browsers send
 * `Origin`: lower case, default port 443 omitted. Undefined when there is no authority.
 */
export function requestOrigin(authority: string): string | undefined {
  if (authority === '') return undefined;
  const host = authority.toLowerCase();
  return `https://${host.endsWith(':443') ? host.slice(0, -4) : host}`;
}
