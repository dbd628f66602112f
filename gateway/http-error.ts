/**
 * @module Every error response the gateway itself writes: a short fixed body (JSON, or HTML for browsers),
 * never internal detail. The cause goes to the log, not to the client.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

export type GatewayErrorCode =
  | 'bad_request'
  | 'unauthorized'
  | 'forbidden'
  | 'insufficient_scope'
  | 'not_found'
  | 'method_not_allowed'
  | 'misdirected_request'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'rate_limited'
  | 'internal_error'
  | 'upstream_unreachable'
  | 'upstream_timeout'
  | 'upstream_busy'
  | 'cluster_unavailable';

/** Each code's status; also the list of codes (docs/operations.md "Gateway responses" is checked against it). */
export const GATEWAY_ERROR_STATUS: Readonly<Record<GatewayErrorCode, number>> = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  insufficient_scope: 403,
  not_found: 404,
  method_not_allowed: 405,
  misdirected_request: 421,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  internal_error: 500,
  upstream_unreachable: 502,
  upstream_timeout: 504,
  upstream_busy: 503,
  cluster_unavailable: 503,
};

const MESSAGE: Record<GatewayErrorCode, string> = {
  bad_request: 'Bad request',
  unauthorized: 'Authentication required',
  forbidden: 'Forbidden',
  insufficient_scope: 'Insufficient scope',
  not_found: 'Not found',
  method_not_allowed: 'Method not allowed',
  misdirected_request: 'Misdirected request',
  payload_too_large: 'Payload too large',
  unsupported_media_type: 'Unsupported media type',
  rate_limited: 'Too many requests',
  internal_error: 'Internal error',
  upstream_unreachable: 'Bad gateway',
  upstream_timeout: 'Gateway timeout',
  upstream_busy: 'Service unavailable',
  cluster_unavailable: 'Service unavailable',
};

function fixedHeaders(body: string, contentType: string): OutgoingHttpHeaders {
  return {
    'content-type': contentType,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    // A fixed body is never a script or a page to sniff into one.
    'x-content-type-options': 'nosniff',
  };
}

export interface ErrorResponse {
  status: number;
  headers: OutgoingHttpHeaders;
  body: string;
}

/** Whether Accept ranks text/html at least as high as JSON, and above zero (browsers do; curl and APIs do not). */
export function prefersHtml(accept: string | undefined): boolean {
  if (!accept || !/text\/html/i.test(accept)) return false;
  let html = 0;
  let json = 0;
  for (const range of accept.split(',')) {
    const [type = '', ...params] = range.split(';');
    const q = params.find((param) => param.trim().startsWith('q='));
    const quality = q === undefined ? 1 : Number(q.trim().slice(2)) || 0;
    const name = type.trim().toLowerCase();
    if (name === 'text/html') html = quality;
    else if (name === 'application/json') json = quality;
  }
  return html > 0 && html >= json;
}

/**
 * Renders an error: JSON `{"error":{"status","code","message","requestId"}}`, or a small HTML page when the
 * client prefers text/html (a browser on webmail).
 */
export function renderError(
  code: GatewayErrorCode,
  requestId: string,
  accept: IncomingHttpHeaders['accept'],
  extraHeaders?: OutgoingHttpHeaders,
): ErrorResponse {
  const status = GATEWAY_ERROR_STATUS[code];
  const message = MESSAGE[code];
  if (prefersHtml(accept)) {
    const body = `<!doctype html><html><head><meta charset="utf-8"><title>${status} ${message}</title></head><body><h1>${status} ${message}</h1><p>Request ${requestId}</p></body></html>\n`;
    return {
      status,
      headers: { ...extraHeaders, ...fixedHeaders(body, 'text/html; charset=utf-8') },
      body,
    };
  }
  const body = `${JSON.stringify({ error: { status, code, message, requestId } })}\n`;
  return {
    status,
    headers: { ...extraHeaders, ...fixedHeaders(body, 'application/json') },
    body,
  };
}

/**
 * renderError as a fetch Response, for the Hono handlers (Hono's c.body() takes only string header
 * values; the Headers constructor converts the numeric content-length).
 * @example return errorResponse('forbidden', requestId, c.req.header('accept'))
 */
export function errorResponse(
  code: GatewayErrorCode,
  requestId: string,
  accept: IncomingHttpHeaders['accept'],
): Response {
  const rendered = renderError(code, requestId, accept);
  return new Response(rendered.body, {
    status: rendered.status,
    headers: rendered.headers as Record<string, string>,
  });
}
