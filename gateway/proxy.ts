/**
 * @module Streams one request to an upstream and its response back, both ways without buffering, with
 * backpressure (pipeline), cancellation on client abort, and the 413/502/504 split.
 */
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Dispatcher } from 'undici';
import { responseHeaders } from './forward-headers.js';
import type { GatewayRequest } from './plane-guard.js';
import type { Upstream } from './upstreams.js';

export type GatewayResponse = ServerResponse | Http2ServerResponse;

/** Why a proxied request failed, by phase: drives the status and the upstream_errors metric label. */
export type UpstreamFailure =
  | 'connect'
  | 'connect_timeout'
  | 'headers_timeout'
  | 'body_timeout'
  | 'socket'
  | 'too_large'
  | 'aborted';

export class PayloadTooLargeError extends Error {
  readonly code = 'ERR_PAYLOAD_TOO_LARGE';
}

/** Maps an undici (or our) error to a failure kind. */
export function classifyUpstreamError(error: unknown): UpstreamFailure {
  const code = (error as { code?: string }).code;
  switch (code) {
    case 'ERR_PAYLOAD_TOO_LARGE':
      return 'too_large';
    case 'UND_ERR_CONNECT_TIMEOUT':
      return 'connect_timeout';
    case 'UND_ERR_HEADERS_TIMEOUT':
      return 'headers_timeout';
    case 'UND_ERR_BODY_TIMEOUT':
      return 'body_timeout';
    case 'UND_ERR_ABORTED':
    case 'ABORT_ERR':
      return 'aborted';
    case 'ECONNREFUSED':
    case 'ENOTFOUND':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EAI_AGAIN':
      return 'connect';
    default:
      return 'socket';
  }
}

/** Whether the request carries a body that must be streamed upstream. */
export function hasRequestBody(req: GatewayRequest): boolean {
  const stream = (req as Http2ServerRequest).stream;
  if (stream) return !stream.endAfterHeaders;
  const length = req.headers['content-length'];
  return (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined;
}

/** Counts body bytes and fails the stream once they pass `limit` (chunked uploads have no length to check). */
function byteLimit(limit: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      seen += chunk.length;
      if (seen > limit) callback(new PayloadTooLargeError(`request body over ${limit} bytes`));
      else callback(null, chunk);
    },
  });
}

export interface ProxyRequest {
  upstream: Upstream;
  method: string;
  /** Canonical path + query as forwarded. */
  path: string;
  headers: OutgoingHttpHeaders;
  maxBodyBytes: number | undefined;
  /** Headers added to the response (RateLimit-*). */
  extraResponseHeaders?: OutgoingHttpHeaders | undefined;
}

export interface ProxyOutcome {
  /** Set when the exchange failed; `headersSent` tells whether an error response can still be written. */
  failure?: UpstreamFailure;
  error?: unknown;
}

/** Updated while the response streams, so the access line (written on 'close') sees the final count. */
export interface ByteCounter {
  bytes: number;
}

/**
 * Forwards `req` and streams the answer into `res`. Never throws: failures come back classified so the
 * caller writes the error response (when headers are not sent yet) and records metrics in one place.
 */
export async function proxyRequest(
  req: GatewayRequest,
  res: GatewayResponse,
  request: ProxyRequest,
  counter: ByteCounter,
): Promise<ProxyOutcome> {
  const abort = new AbortController();
  const onClose = () => {
    if (!res.writableFinished) abort.abort();
  };
  res.once('close', onClose);
  let body: Dispatcher.DispatchOptions['body'] = null;
  if (hasRequestBody(req)) {
    body = request.maxBodyBytes === undefined ? req : req.pipe(byteLimit(request.maxBodyBytes));
    if (body !== req) req.once('error', (error) => (body as Transform).destroy(error));
  }
  try {
    const response = await request.upstream.pool.request({
      method: request.method as Dispatcher.HttpMethod,
      path: request.path,
      headers: request.headers as Record<string, string>,
      body,
      signal: abort.signal,
    });
    const headers = responseHeaders(response.headers);
    if (request.extraResponseHeaders) Object.assign(headers, request.extraResponseHeaders);
    res.writeHead(response.statusCode, headers);
    response.body.on('data', (chunk: Buffer) => {
      counter.bytes += chunk.length;
    });
    await pipeline(response.body, res as NodeJS.WritableStream);
    return {};
  } catch (error) {
    const failure = abort.signal.aborted ? 'aborted' : classifyUpstreamError(error);
    // The upload may still be arriving: stop reading it so the connection is not left half-used.
    if (body && body !== req) (body as Transform).destroy();
    return { failure, error };
  } finally {
    res.off('close', onClose);
  }
}
