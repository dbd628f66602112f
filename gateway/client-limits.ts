/**
 * @module Limits that keep slow and malformed clients from holding a listener: request head and keep-alive
 * timeouts, request body stalls, header size and count, and the answer (plus one access line) for what
 * Node's HTTP/1.1 parser rejects. The TLS handshake and h2 limits are server options (listeners.ts).
 */
import {
  type Server as HttpServer,
  type IncomingMessage,
  type ServerResponse,
  STATUS_CODES,
} from 'node:http';
import { type Http2SecureServer, constants as h2 } from 'node:http2';
import type { Socket } from 'node:net';
import type { LimitsConfig } from './config/schema.js';
import { type Http2Exchange, hasHttp1Body } from './exchange.js';
import { type AccessRecorder, newRequestRecord } from './request-record.js';

/** Node checks request heads against headersTimeout on an interval (30 s by default): keep it under 1 s. */
const HEADERS_CHECK_MAX_MS = 1_000;

/** What the access line says about a request Node's parser refused, by status. */
const PARSER_REFUSAL: Record<number, string> = {
  400: 'malformed_request',
  408: 'request_timeout',
  413: 'chunk_extensions_too_large',
  431: 'headers_too_large',
};

/** Requests refused before the pipeline: the status and the access line's `denied`. */
const HTTP_VERSION_REFUSAL = { status: 505, reason: 'http_version_not_supported' } as const;
const HEADER_COUNT_REFUSAL = { status: 431, reason: 'too_many_headers' } as const;

/** HTTP/1.1 server fields that Node reads per connection; Http2SecureServer's types do not declare them. */
interface Http1Fields {
  headersTimeout: number;
  requestTimeout: number;
  keepAliveTimeout: number;
  maxHeaderSize: number;
  maxHeadersCount: number;
  connectionsCheckingInterval: number;
}

/**
 * Sets the HTTP/1.1 timeouts and header limits on `server` (plain, or the TLS server's HTTP/1.1 fallback,
 * whose Node defaults leave idle keep-alive connections open forever). Call before `listen`.
 */
export function applyHttp1Limits(server: HttpServer | Http2SecureServer, limits: LimitsConfig): void {
  const fields = server as unknown as Http1Fields;
  fields.headersTimeout = limits.headersTimeoutMs;
  // No whole-request deadline: an upload over a slow link may take hours; stalls end at bodyIdleTimeoutMs.
  fields.requestTimeout = 0;
  fields.keepAliveTimeout = limits.keepAliveTimeoutMs;
  fields.maxHeaderSize = limits.maxHeaderBytes;
  // One more than allowed: Node silently drops the fields past maxHeadersCount; the extra one shows an excess.
  fields.maxHeadersCount = limits.maxHeaderCount + 1;
  fields.connectionsCheckingInterval = Math.min(HEADERS_CHECK_MAX_MS, Math.ceil(limits.headersTimeoutMs / 4));
}

/** RFC 9113 §6.5.2: a field counts its name and value octets plus 32 towards SETTINGS_MAX_HEADER_LIST_SIZE. */
const FIELD_OVERHEAD = 32;

/**
 * The size of a header list as SETTINGS_MAX_HEADER_LIST_SIZE counts it (pseudo-headers included). Node
 * only announces that setting on h2: it accepts longer lists (up to 64 KB per field), so the gateway checks.
 * @param rawHeaders names and values, alternating (Node's `rawHeaders`)
 * @example headerListSize([':path', '/', 'x', 'y']) // 5 + 1 + 32 + 1 + 1 + 32 = 72
 */
export function headerListSize(rawHeaders: readonly string[]): number {
  let size = 0;
  for (let i = 0; i < rawHeaders.length; i++) size += rawHeaders[i]!.length;
  return size + (rawHeaders.length >> 1) * FIELD_OVERHEAD;
}

/**
 * Wraps an HTTP/1.x request listener: refuses requests of another version than 1.0 or 1.1 (505) or with too
 * many header fields (431) and arms the body idle timeout on requests that carry a body. Requests without a
 * body cost one header check, no closure. (h2 limits its header list itself, maxHeaderListPairs; its streams'
 * bodies are watched by watchStreamBody.)
 * @param recorder writes the access line of refused requests (the plain-HTTP listeners have none)
 */
export function limitRequests(
  onRequest: (req: IncomingMessage, res: ServerResponse) => void,
  limits: LimitsConfig,
  recorder?: AccessRecorder,
): (req: IncomingMessage, res: ServerResponse) => void {
  const maxRawHeaders = limits.maxHeaderCount * 2;
  const idleMs = limits.bodyIdleTimeoutMs;
  return function limitedRequest(req, res) {
    // The parser accepts any digit pair after HTTP/; only 1.0 and 1.1 mean what this server speaks.
    const refusal =
      req.httpVersionMajor !== 1 || req.httpVersionMinor > 1
        ? HTTP_VERSION_REFUSAL
        : // HTTP/1.1's parser only truncates the header list.
          req.rawHeaders.length > maxRawHeaders
          ? HEADER_COUNT_REFUSAL
          : undefined;
    if (refusal !== undefined) {
      res.writeHead(refusal.status, { connection: 'close', 'content-length': 0 }).end();
      if (recorder) refused(recorder, req.socket.remoteAddress, refusal.status, refusal.reason, req.method);
      return;
    }
    if (hasHttp1Body(req)) watchBody(req, res, idleMs);
    onRequest(req, res);
  };
}

/**
 * Cuts a request whose body stalls for `idleMs` while the gateway is reading it (nginx's
 * client_body_timeout). Once the body has ended the timer is gone: a long-poll waits for its response.
 */
function watchBody(req: IncomingMessage, res: ServerResponse, idleMs: number) {
  // The socket's timer: Node emits its 'timeout' on the request.
  req.setTimeout(idleMs);
  req.on('timeout', () => bodyStalled(req, res, idleMs));
  req.once('end', () => {
    // After the response, the socket timer is Node's keep-alive timer: leave it alone.
    if (!res.writableFinished) req.setTimeout(0);
  });
}

/** Whether a body's reader is behind (upstream backpressure), not the client: then it is not a stall. */
function readerBehind(body: NodeJS.ReadableStream & { readableLength: number }): boolean {
  return body.isPaused() || body.readableLength > 0;
}

function bodyStalled(req: IncomingMessage, res: ServerResponse, idleMs: number) {
  if (req.readableEnded) return;
  if (readerBehind(req)) {
    req.setTimeout(idleMs);
    return;
  }
  // Failing the body cancels the upstream request; it also closes the socket, so only once the 408 is out.
  if (res.headersSent) req.destroy();
  else res.writeHead(408, { connection: 'close', 'content-length': 0 }).end(() => req.destroy());
}

/** watchBody for an h2 stream: its own timer (Node clears it when the stream closes). */
export function watchStreamBody(exchange: Http2Exchange, idleMs: number): void {
  const stream = exchange.stream;
  stream.setTimeout(idleMs);
  stream.on('timeout', () => streamBodyStalled(exchange, idleMs));
  stream.once('end', () => stream.setTimeout(0));
}

function streamBodyStalled(exchange: Http2Exchange, idleMs: number) {
  const stream = exchange.stream;
  if (stream.readableEnded) return;
  if (readerBehind(stream)) {
    stream.setTimeout(idleMs);
    return;
  }
  // Fail the body first: closing the stream would end it as if complete, a truncated upload sent upstream.
  exchange.failBody(new BodyStalledError(idleMs));
  if (exchange.headersSent) {
    stream.close(h2.NGHTTP2_CANCEL);
    return;
  }
  exchange.respond(408, { 'content-length': 0 });
  exchange.end();
  // RFC 9113 §8.1: RST_STREAM NO_ERROR after a complete response tells the client to stop sending.
  stream.close(h2.NGHTTP2_NO_ERROR);
}

/** A request body that stalled past limits.bodyIdleTimeoutMs (raised into the upload towards the upstream). */
class BodyStalledError extends Error {
  readonly code = 'MAILGATE_BODY_STALLED';
  constructor(idleMs: number) {
    super(`request body idle for ${idleMs} ms`);
  }
}

/** The status Node's parser answers an error with; undefined for errors that are not the parser's. */
function parserStatus(code: string): number | undefined {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return 431;
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return 413;
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return 408;
    default:
      return code.startsWith('HPE_') ? 400 : undefined;
  }
}

/** Writes the access line of a request refused before the pipeline ran (no route, no plane). */
function refused(
  recorder: AccessRecorder,
  client: string | undefined,
  status: number,
  reason: string,
  method = '-',
) {
  const record = newRequestRecord(method);
  record.client = client ?? '';
  record.denied = reason;
  recorder.finish(record, status, true);
}

/**
 * The TLS servers' 'clientError' listener: parser errors (400, 408 for a slow request head, 431) are
 * answered as Node would and get one access line; TLS failures and resets are routine and close quietly.
 */
export function createClientErrorHandler(recorder: AccessRecorder) {
  return function mailgateClientError(error: NodeJS.ErrnoException, socket: Socket): void {
    const status = parserStatus(error.code ?? '');
    if (status === undefined) {
      socket.destroy();
      return;
    }
    const response = (socket as { _httpMessage?: ServerResponse | null })._httpMessage;
    const client = socket.remoteAddress;
    // As Node does: answer only while no response on this connection has started.
    if (socket.writable && !response?.headersSent) {
      socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\n\r\n`);
    }
    socket.destroy();
    // A request already in the pipeline (a bad chunk in its body) writes its own access line.
    if (!response) refused(recorder, client, status, PARSER_REFUSAL[status] ?? 'malformed_request');
  };
}
