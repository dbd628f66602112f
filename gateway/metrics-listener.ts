/**
 * @module The optional plain-HTTP Prometheus listener (`listen.metrics`): GET or HEAD `/metrics` (or
 * `/_mailgate/metrics`), any query string; everything else gets the gateway's JSON errors.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import { type ErrorResponse, renderError } from './http-error.js';
import type { Logger } from './logger.js';
import { nextRequestId } from './request-id.js';

const METRICS_PATHS = new Set(['/metrics', '/_mailgate/metrics']);
const ALLOW = 'GET, HEAD';

export interface MetricsListenerOptions {
  /** The exposition: this process's registry, or under workers the whole gateway's, merged by the primary. */
  registry: Pick<Registry, 'metrics' | 'contentType'>;
  /** Where a failed collection is logged (once per scrape). */
  logger: Logger;
}

function send(res: ServerResponse, { status, headers, body }: ErrorResponse) {
  res.writeHead(status, headers).end(body);
}

/**
 * Creates the metrics listener's request handler. A collector that throws answers 500 and is logged; it
 * never becomes an unhandled rejection.
 * @example createPlainServer(createMetricsHandler({ registry, logger }), tracker, limits)
 */
export function createMetricsHandler({ registry, logger }: MetricsListenerOptions): RequestListener {
  async function serve(req: IncomingMessage, res: ServerResponse) {
    const url = req.url ?? '';
    const query = url.indexOf('?');
    if (!METRICS_PATHS.has(query === -1 ? url : url.slice(0, query))) {
      send(res, renderError('not_found', nextRequestId(), req.headers.accept));
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, renderError('method_not_allowed', nextRequestId(), req.headers.accept, { allow: ALLOW }));
      return;
    }
    let body: string;
    try {
      body = await registry.metrics();
    } catch (error) {
      const requestId = nextRequestId();
      logger.error({ reqId: requestId, err: error }, 'metrics collection failed');
      send(res, renderError('internal_error', requestId, req.headers.accept));
      return;
    }
    res.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' }).end(body);
  }

  return function mailgateMetrics(req, res) {
    serve(req, res).catch((error: unknown) => {
      logger.error({ err: error }, 'metrics listener failed');
      res.destroy();
    });
  };
}
