/**
 * @module One request and its response as the pipeline sees them: over HTTP/1.1 node:http's req/res, over
 * h2 the core stream API (no Http2ServerRequest/Response per stream: about a third of the h2 path's CPU).
 * The decision path, the proxy, the tracker and the access line are written once against `Exchange`.
 */
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import {
  Http2ServerRequest,
  Http2ServerResponse,
  type Http2Session,
  constants as h2,
  type ServerHttp2Stream,
} from 'node:http2';
import type { Socket } from 'node:net';
import { PassThrough, type Readable } from 'node:stream';
import type { GatewayRequest } from './plane-guard.js';
import type { RequestRecord } from './request-record.js';

/** Told once when an exchange is over (the request handler: tracker, access line, relay, in that order). */
export interface ExchangeObserver {
  exchangeClosed(exchange: Exchange): void;
}

/** What the proxy relay of an exchange must hear: the client side closed. */
export interface ClientCloseListener {
  clientClosed(): void;
}

export interface Exchange {
  /** What the decision path reads (method, target, headers, socket): the IncomingMessage, or the h2 exchange. */
  readonly req: GatewayRequest;
  /** h2: the stream's session (it outlives the stream, which forgets it when closed); HTTP/1.1: undefined. */
  readonly session: Http2Session | undefined;
  /** Whether the request carries a body to stream upstream. */
  readonly hasBody: boolean;
  /** The request body (HTTP/1.1: the IncomingMessage; h2: a pass-through fed by the stream). */
  readonly body: Readable;
  readonly headersSent: boolean;
  /** The status of the head sent (reserved paths too, whoever wrote it); meaningful once headersSent. */
  readonly statusCode: number;
  /** The response went out whole: false while it is going, or when a reset or closed connection cut it. */
  readonly completed: boolean;
  /** A header for the head not sent yet (HSTS, Connection: close); a same-named one given to respond wins. */
  setHeader(name: string, value: string): void;
  /** Sends the head; `headers` is the caller's own object and may be added to. */
  respond(status: number, headers: OutgoingHttpHeaders): void;
  /** 100 Continue, 102 Processing or 103 Early Hints (RFC 9110 §15.2); none to an HTTP/1.0 client. */
  informational(status: 100 | 102 | 103, headers?: OutgoingHttpHeaders): void;
  /** Writes body bytes; false when the client side is full (wait for onceDrain). */
  write(chunk: Buffer): boolean;
  /** Ends the response (with a last chunk); nothing is written after a bodyless head (HEAD, 204, 304). */
  end(chunk?: string | Buffer): void;
  onceDrain(listener: () => void): void;
  /** The request's record (access line, metrics), set by the handler that takes the exchange. */
  record: RequestRecord | undefined;
  /** The proxy relay while the request is forwarded: hears the client side close, after the observer. */
  relay: ClientCloseListener | undefined;
  /** Whom onClose tells. */
  readonly closeObserver: ExchangeObserver | undefined;
  /**
   * `observer.exchangeClosed(this)` once when the exchange is over: the response finished, or it was cut.
   * One module-level listener per exchange (it finds the exchange through its emitter): no closure per
   * subscriber and request.
   */
  onClose(observer: ExchangeObserver): void;
  /** Cuts the exchange: HTTP/1.1 its connection, h2 its stream. */
  destroy(): void;
  /** Fails the request body, so that the upstream sees its request end short, never as complete. */
  failBody(error: Error): void;
  /**
   * The request went upstream with headers of its own: what is left to read of the inbound ones is what an
   * error page (Accept) or a Location rewrite (the authority) needs. h2 lets go of the rest, which would
   * otherwise live as long as the stream; node:http keeps its IncomingMessage's anyway.
   */
  headersForwarded(): void;
  /** node:http-style req/res for the reserved-path app (h2: compatibility objects made for this stream only). */
  nodePair(): [GatewayRequest & Readable, ServerResponse | Http2ServerResponse];
}

/** An HTTP/1.1 (or 1.0) exchange: the adapter over node:http's req/res. */
export class Http1Exchange implements Exchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  record: RequestRecord | undefined = undefined;
  relay: ClientCloseListener | undefined = undefined;
  closeObserver: ExchangeObserver | undefined = undefined;

  constructor(req: IncomingMessage, res: ServerResponse) {
    this.req = req;
    this.res = res;
  }

  get session(): undefined {
    return undefined;
  }

  get hasBody(): boolean {
    return hasHttp1Body(this.req);
  }

  get body(): Readable {
    return this.req;
  }

  get headersSent(): boolean {
    return this.res.headersSent;
  }

  get statusCode(): number {
    return this.res.statusCode;
  }

  get completed(): boolean {
    return this.res.writableFinished;
  }

  setHeader(name: string, value: string): void {
    this.res.setHeader(name, value);
  }

  respond(status: number, headers: OutgoingHttpHeaders): void {
    this.res.writeHead(status, headers);
  }

  informational(status: 100 | 102 | 103, headers?: OutgoingHttpHeaders): void {
    if (this.req.httpVersionMinor === 0) return;
    if (status === 100) this.res.writeContinue();
    else if (status === 102) this.res.writeProcessing();
    else this.res.writeEarlyHints(headers as Record<string, string>);
  }

  write(chunk: Buffer): boolean {
    return this.res.write(chunk);
  }

  end(chunk?: string | Buffer): void {
    if (chunk === undefined) this.res.end();
    else this.res.end(chunk);
  }

  onceDrain(listener: () => void): void {
    this.res.once('drain', listener);
  }

  onClose(observer: ExchangeObserver): void {
    this.closeObserver = observer;
    (this.res as ExchangeCarrier)[kExchange] = this;
    this.res.on('close', exchangeClosed);
  }

  destroy(): void {
    this.res.destroy();
  }

  failBody(error: Error): void {
    this.req.destroy(error);
  }

  headersForwarded(): void {}

  nodePair(): [IncomingMessage, ServerResponse] {
    return [this.req, this.res];
  }
}

/** node:http's request listener over an exchange handler. */
export function http1Listener(
  onExchange: (exchange: Exchange) => void,
): (req: IncomingMessage, res: ServerResponse) => void {
  return function mailgateRequest(req, res) {
    onExchange(new Http1Exchange(req, res));
  };
}

/** Whether an HTTP/1.1 request carries a body (a length other than 0, or a transfer coding). */
export function hasHttp1Body(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined;
}

/** Stream errors are seen through 'close' and rstCode; an 'error' without a listener would end the process. */
function ignoreStreamError() {}

/** What a forwarded h2 exchange keeps of its raw header list: nothing (see headersForwarded). */
const NO_RAW_HEADERS: string[] = [];

/** Where an exchange's emitter (its h2 stream, its HTTP/1.1 response) keeps the exchange for its listeners. */
const kExchange = Symbol('mailgate.exchange');
type ExchangeCarrier = { [kExchange]?: Exchange };

/** The one 'close' listener of every exchange (`this` is its stream or response). */
function exchangeClosed(this: ExchangeCarrier) {
  const exchange = this[kExchange]!;
  exchange.closeObserver!.exchangeClosed(exchange);
}

/** A stream reset before its body ended fails the upload (`this` is the stream). */
function failBodyOnReset(this: ExchangeCarrier) {
  this[kExchange]!.failBody(new ClientResetError());
}

/**
 * An h2 exchange over the core stream API: one object per stream, which is also the request the decision
 * path reads (its method, target, headers and socket, like an IncomingMessage's).
 */
export class Http2Exchange implements Exchange, GatewayRequest {
  readonly stream: ServerHttp2Stream;
  /** The inbound header lists until headersForwarded. */
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
  readonly session: Http2Session | undefined;
  readonly method: string;
  readonly url: string;
  record: RequestRecord | undefined = undefined;
  relay: ClientCloseListener | undefined = undefined;
  closeObserver: ExchangeObserver | undefined = undefined;
  #pending: OutgoingHttpHeaders | undefined;
  #body: PassThrough | undefined;

  constructor(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, rawHeaders: string[]) {
    this.stream = stream;
    this.headers = headers;
    this.rawHeaders = rawHeaders;
    this.session = stream.session;
    this.method = headers[':method'] as string;
    this.url = (headers[':path'] as string | undefined) ?? '';
    (stream as ExchangeCarrier)[kExchange] = this;
    stream.on('error', ignoreStreamError);
  }

  get req(): this {
    return this;
  }

  /** The session's socket (a proxy Node keeps per session): peer address, `encrypted`, peer certificate. */
  get socket(): Socket {
    return (this.session?.socket ?? this.stream.session?.socket) as Socket;
  }

  /** h2 is not HTTP/1.0: what Http2ServerRequest reports. */
  get httpVersionMinor(): number {
    return 0;
  }

  get hasBody(): boolean {
    return !this.stream.endAfterHeaders;
  }

  /**
   * The body the proxy sends upstream: a pass-through fed by the stream, never the stream itself. undici
   * destroys its body when the upstream request is cancelled (a timeout), which must not reset the client's
   * stream before the 504 is written; and a stream closed with NO_ERROR ends its readable side as if complete,
   * so a reset (or a stall) fails this body first.
   */
  get body(): Readable {
    if (this.#body === undefined) {
      const body = new PassThrough();
      this.#body = body;
      this.stream.pipe(body);
      // 'aborted' comes once: on() spares once()'s wrapper.
      this.stream.on('aborted', failBodyOnReset);
    }
    return this.#body;
  }

  get headersSent(): boolean {
    return this.stream.headersSent;
  }

  get statusCode(): number {
    return Number(this.stream.sentHeaders?.[':status'] ?? 200);
  }

  get completed(): boolean {
    const stream = this.stream;
    return stream.headersSent && stream.writableEnded && (stream.rstCode ?? 0) === h2.NGHTTP2_NO_ERROR;
  }

  setHeader(name: string, value: string): void {
    if (this.#pending === undefined) this.#pending = {};
    this.#pending[name] = value;
  }

  respond(status: number, headers: OutgoingHttpHeaders): void {
    const stream = this.stream;
    if (stream.destroyed || stream.closed) return;
    const pending = this.#pending;
    if (pending !== undefined) for (const name in pending) headers[name] ??= pending[name];
    headers[':status'] = status;
    // Node ends the stream with the head for HEAD, 204, 205 and 304 (they have no body).
    stream.respond(headers);
  }

  informational(status: 100 | 102 | 103, headers?: OutgoingHttpHeaders): void {
    const stream = this.stream;
    if (stream.headersSent || stream.destroyed) return;
    stream.additionalHeaders(status === 103 ? { ...headers, ':status': 103 } : { ':status': status });
  }

  write(chunk: Buffer): boolean {
    return this.stream.write(chunk);
  }

  end(chunk?: string | Buffer): void {
    const stream = this.stream;
    if (stream.writableEnded) return;
    if (chunk === undefined || this.method === 'HEAD') stream.end();
    else stream.end(chunk);
  }

  onceDrain(listener: () => void): void {
    this.stream.once('drain', listener);
  }

  onClose(observer: ExchangeObserver): void {
    this.closeObserver = observer;
    // 'close' comes once: on() spares once()'s wrapper.
    this.stream.on('close', exchangeClosed);
  }

  destroy(): void {
    const stream = this.stream;
    // Already closed (an RST_STREAM under way, e.g. after a 408): nothing left to cut, and Node 20 loops
    // for good (Http2Session::SendPendingData, memory without bound) when a stream is destroyed in the same
    // tick as stream.close().
    if (stream.closed) return;
    stream.destroy();
  }

  failBody(error: Error): void {
    this.#body?.destroy(error);
  }

  headersForwarded(): void {
    const headers = this.headers;
    this.headers = { ':authority': headers[':authority'], host: headers.host, accept: headers.accept };
    this.rawHeaders = NO_RAW_HEADERS;
  }

  nodePair(): [Http2ServerRequest, Http2ServerResponse] {
    const res = new Http2ServerResponse(this.stream);
    const pending = this.#pending;
    if (pending !== undefined) for (const name in pending) res.setHeader(name, pending[name]!);
    return [new Http2ServerRequest(this.stream, this.headers, {}, this.rawHeaders), res];
  }
}

/** The client reset its h2 stream before the body ended (raised into the upload towards the upstream). */
export class ClientResetError extends Error {
  readonly code = 'UND_ERR_ABORTED';
  constructor() {
    super('client reset the stream before its body ended');
  }
}
