/**
 * @module Streams one request to an upstream and its response back, both ways without buffering, with
 * backpressure (pipeline), cancellation on client abort, and the 413/502/504 split.
 */
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Http2ServerResponse, Http2Session } from 'node:http2';
import { type Readable, Transform, type TransformCallback } from 'node:stream';
import type { Dispatcher } from 'undici';
import { type DavOrigins, publicLocation } from './dav-headers.js';
import type { ClientCloseListener, Exchange } from './exchange.js';
import { dispatchExpectingContinue } from './expect-continue.js';
import { responseHeaders } from './forward-headers.js';
import { requestAuthority } from './resolve-request.js';
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
  | 'queue_timeout'
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

/**
 * One forwarded request. It is also undici's dispatch options (method, path, headers, body): no second
 * object per request, and `headers` is let go once undici has read them (onConnect).
 */
export interface ProxyRequest {
  upstream: Upstream;
  method: string;
  /** Canonical path + query as forwarded. */
  path: string;
  headers: OutgoingHttpHeaders;
  /** The upload undici reads (the exchange's body, behind the byte limit when the route has one); set here. */
  body?: Readable | null;
  maxBodyBytes: number | undefined;
  /** Headers added to the response (RateLimit-*). */
  extraResponseHeaders?: OutgoingHttpHeaders | undefined;
  /** The route prefix removed from the path ('' for none): put back into Location and Content-Location. */
  strippedPrefix: string /** The client sent `Expect: 100-continue`: the upstream is asked and its 100 relayed. */;
  expectsContinue: boolean;
}

/**
 * Told once when a proxied exchange is over (the request handler: error response, metrics, in-flight count).
 * A method on an object that exists anyway, not a Promise: nothing suspended or allocated per request.
 */
export interface ProxySettledListener {
  /** `failure` is set when the exchange failed; `exchange.headersSent` tells whether an error can still be written. */
  proxySettled(
    exchange: Exchange,
    request: ProxyRequest,
    failure: UpstreamFailure | undefined,
    error: unknown,
  ): void;
  /**
   * undici let go of the request (its onComplete or onError), once, at or after proxySettled: a request
   * whose client left, or that was answered 503 at the queue timeout, waits in the pool's queue until a
   * connection frees, and it is still the client's until then.
   */
  proxyReleased(exchange: Exchange, request: ProxyRequest): void;
}

/** Updated while the response streams, so the access line (written on 'close') sees the final count. */
export interface ByteCounter {
  bytes: number;
}

/** Raised into undici when the client goes away, so the upstream request is cancelled. */
class ClientAbortedError extends Error {
  readonly code = 'UND_ERR_ABORTED';
}

/** An upstream timeout, with undici's error codes so classification and metrics stay the same. */
export class UpstreamTimeoutError extends Error {
  readonly code: 'UND_ERR_HEADERS_TIMEOUT' | 'UND_ERR_BODY_TIMEOUT' | 'MAILGATE_QUEUE_TIMEOUT';
  constructor(phase: 'headers' | 'body' | 'queue', timeoutMs: number) {
    super(
      phase === 'queue'
        ? `no upstream connection free within ${timeoutMs} ms`
        : `upstream ${phase} not received within ${timeoutMs} ms`,
    );
    this.code =
      phase === 'headers'
        ? 'UND_ERR_HEADERS_TIMEOUT'
        : phase === 'body'
          ? 'UND_ERR_BODY_TIMEOUT'
          : 'MAILGATE_QUEUE_TIMEOUT';
  }
}

/** What a ProxyRequest's headers become once undici holds its own copy. */
const HEADERS_SENT: OutgoingHttpHeaders = Object.freeze({}) as OutgoingHttpHeaders;

/** One module-level callback (the relay is the timer's argument): no closure per request. */
function onRelayTimeout(relay: ResponseRelay) {
  relay.timeoutFired();
}

/**
 * An undici dispatch handler that writes the upstream response straight into the client response: no
 * intermediate stream, backpressure by pausing undici while the client socket drains. It speaks undici 7's
 * own handler protocol (onConnect, onHeaders, onData, onComplete, onError): a handler with the newer hooks
 * (onRequestStart...) is wrapped per request into an UnwrapHandler and UnwrapController, whose parsed header
 * object is one more per response and whose controller keeps the raw header Buffers alive for the whole
 * exchange. It also times the
 * upstream (response headers, then body idle) with one native timer that is re-armed lazily: activity
 * only records a timestamp. The clock stops while the client is the slow side (upload still arriving,
 * response backpressure).
 */
class ResponseRelay implements Dispatcher.DispatchHandler, ClientCloseListener {
  readonly #exchange: Exchange;
  readonly #request: ProxyRequest;
  readonly #counter: ByteCounter;
  readonly #listener: ProxySettledListener;
  /** The upload's byte limit, when the route has one: stopped when the exchange fails. */
  readonly #limited: Transform | undefined;
  readonly #uploading: boolean;
  /** undici's cancel for this request, once it has a connection (onConnect). */
  #abort: ((reason: Error) => void) | undefined;
  /** undici's resume after onData returned false. */
  #resume: (() => void) | undefined;
  #clientGone = false;
  /** The upstream response was relayed whole; a 'close' after it is the normal end, anything else an abort. */
  #relayed = false;
  #timer: NodeJS.Timeout;
  #lastActivity: number;
  #paused = false;
  #responseStarted = false;
  #expired: UpstreamTimeoutError | undefined;
  /** When the request was handed to the pool; until onConnect it waits for a free connection. */
  readonly #queuedAt: number;
  /** The outcome was reported (a queue timeout reports before undici lets go of the request). */
  #settled = false;
  #released = false;

  constructor(
    exchange: Exchange,
    request: ProxyRequest,
    counter: ByteCounter,
    uploading: boolean,
    limited: Transform | undefined,
    listener: ProxySettledListener,
  ) {
    this.#exchange = exchange;
    this.#request = request;
    this.#counter = counter;
    this.#uploading = uploading;
    this.#limited = limited;
    this.#listener = listener;
    this.#lastActivity = performance.now();
    this.#queuedAt = this.#lastActivity;
    const { timeoutMs, queueTimeoutMs } = request.upstream;
    this.#timer = setTimeout(onRelayTimeout, Math.min(timeoutMs, queueTimeoutMs), this);
  }

  /**
   * The exchange closed (its one 'close' listener calls this after the access line). Decided by the relay's
   * own state, never by the response's: a relay paused for 'drain' when the client goes would wait for it
   * forever.
   */
  clientClosed(): void {
    if (this.#relayed) return;
    this.#clientGone = true;
    const session = this.#exchange.session;
    if (session !== undefined) sessionsThatCut.add(session);
    clearTimeout(this.#timer);
    const aborted = new ClientAbortedError('client went away');
    if (this.#abort) this.#abort(aborted);
    // Still queued for a connection: done now; onConnect cancels it when undici hands it a connection.
    else this.#settle('aborted', aborted);
  }

  timeoutFired(): void {
    const { timeoutMs, queueTimeoutMs } = this.#request.upstream;
    const now = performance.now();
    if (this.#abort === undefined && !this.#clientGone) {
      // Still waiting for a pool connection: past the queue budget the client gets 503 now; undici lets
      // go of the request when a connection frees (onConnect aborts it before a byte is written).
      const queueLeft = this.#queuedAt + queueTimeoutMs - now;
      if (queueLeft <= 0) {
        this.#expired = new UpstreamTimeoutError('queue', queueTimeoutMs);
        this.#settle('queue_timeout', this.#expired);
        return;
      }
      if (queueLeft < timeoutMs) {
        this.#timer = setTimeout(onRelayTimeout, queueLeft, this);
        return;
      }
    }
    if (this.#paused || (this.#uploading && !this.#exchange.body.readableEnded)) this.#lastActivity = now;
    const left = this.#lastActivity + timeoutMs - now;
    if (left > 0) {
      this.#timer = setTimeout(onRelayTimeout, left, this);
      return;
    }
    this.#expired = new UpstreamTimeoutError(this.#responseStarted ? 'body' : 'headers', timeoutMs);
    // Still queued for a connection: cancelled as soon as it gets one.
    this.#abort?.(this.#expired);
  }

  onConnect(abort: (reason?: Error) => void): void {
    this.#abort = abort;
    // undici has made its own copy of the request head by now (its Request is built before it connects).
    this.#request.headers = HEADERS_SENT;
    if (this.#clientGone) abort(new ClientAbortedError('client went away'));
    else if (this.#expired) abort(this.#expired);
  }

  /** A response head (1xx included); `rawHeaders` are names and values as received, read here once. */
  onHeaders(
    statusCode: number,
    rawHeaders: readonly (Buffer | string)[],
    resume: () => void,
    _statusText: string,
  ): boolean {
    if (this.#clientGone) return true;
    this.#resume = resume;
    this.#lastActivity = performance.now();
    if (statusCode < 200) {
      this.#informational(statusCode, rawHeaders);
      return true;
    }
    this.#responseStarted = true;
    const out = responseHeaders(rawHeaders);
    if (out.location !== undefined || out['content-location'] !== undefined) this.#publicLocations(out);
    if (this.#request.extraResponseHeaders) Object.assign(out, this.#request.extraResponseHeaders);
    this.#exchange.respond(statusCode, out);
    return true;
  }

  /**
   * Relays a 1xx (RFC 9110 §15.2): 100 only to a client that asked for it, 102 and 103 (Early Hints) as
   * they come; never to an HTTP/1.0 client, which cannot read them. Others have no meaning to pass on.
   */
  #informational(statusCode: number, rawHeaders: readonly (Buffer | string)[]): void {
    if (statusCode === 100) {
      if (this.#request.expectsContinue) this.#exchange.informational(100);
    } else if (statusCode === 103) {
      const headers = responseHeaders(rawHeaders);
      // Early Hints without a Link header have no point (Node's HTTP/1.1 writer refuses them).
      if (headers.link !== undefined) this.#exchange.informational(103, headers);
    } else if (statusCode === 102) {
      this.#exchange.informational(102);
    }
  }

  /** Location and Content-Location naming the upstream are moved to the public origin (nginx's proxy_redirect). */
  #publicLocations(out: OutgoingHttpHeaders): void {
    const origins: DavOrigins = {
      publicAuthority: requestAuthority(this.#exchange.req),
      upstreamOrigin: this.#request.upstream.origin,
      strippedPrefix: this.#request.strippedPrefix,
    };
    if (typeof out.location === 'string') out.location = publicLocation(out.location, origins);
    const contentLocation = out['content-location'];
    if (typeof contentLocation === 'string')
      out['content-location'] = publicLocation(contentLocation, origins);
  }

  /** A body chunk; false pauses undici until the client side drains. */
  onData(chunk: Buffer): boolean {
    if (this.#clientGone) return true;
    this.#counter.bytes += chunk.length;
    this.#lastActivity = performance.now();
    if (this.#exchange.write(chunk)) return true;
    this.#paused = true;
    this.#exchange.onceDrain(() => {
      this.#paused = false;
      this.#resume?.();
    });
    return false;
  }

  onComplete(_trailers: unknown): void {
    clearTimeout(this.#timer);
    this.#relayed = true;
    this.#exchange.end();
    this.#settle(undefined, undefined);
    this.#release();
  }

  /** The exchange failed (undici's report, or a throw while dispatching). */
  onError(error: unknown): void {
    clearTimeout(this.#timer);
    this.#settle(this.#clientGone ? 'aborted' : classifyUpstreamError(error), error);
    this.#release();
  }

  /** Hands the request to its upstream, unless its client already left (a reset before it was sent). */
  dispatch(): void {
    if (this.#clientGone) {
      this.#release();
      return;
    }
    const request = this.#request;
    try {
      const { body } = request;
      if (request.expectsContinue && body) {
        const { upstream, method, path, headers } = request;
        dispatchExpectingContinue({ origin: upstream.origin, method, path, headers, body }, this);
      } else {
        request.upstream.pool.dispatch(request as Dispatcher.DispatchOptions, this);
      }
    } catch (error) {
      // undici reports its own failures through the handler; anything thrown here ends the exchange the same way.
      this.onError(error);
    }
  }

  #release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#listener.proxyReleased(this.#exchange, this.#request);
  }

  #settle(failure: UpstreamFailure | undefined, error: unknown): void {
    if (this.#settled) return;
    this.#settled = true;
    if (failure !== undefined && this.#uploading) {
      // An upload may still be arriving: stop reading it so the connection is not left half-used.
      this.#limited?.destroy();
      // The client broke off its own upload (reset, body idle timeout): not the upstream's failure.
      const body = this.#exchange.body;
      if (body.destroyed && !body.readableEnded) failure = 'aborted';
    }
    this.#listener.proxySettled(this.#exchange, this.#request, failure, error);
  }
}

/**
 * Forwards the exchange's request and streams the answer into its response. Never throws: `listener` hears
 * the end once, failures classified, so the caller writes the error response (when headers are not sent yet)
 * and records metrics in one place.
 */
export function proxyRequest(
  exchange: Exchange,
  request: ProxyRequest,
  counter: ByteCounter,
  listener: ProxySettledListener,
): void {
  let body: Readable | null = null;
  let limited: Transform | undefined;
  if (exchange.hasBody) {
    body = exchange.body;
    if (request.maxBodyBytes !== undefined) {
      const source = body;
      limited = source.pipe(byteLimit(request.maxBodyBytes));
      source.once('error', (error) => limited!.destroy(error));
      body = limited;
    }
  }
  request.body = body;
  const relay = new ResponseRelay(exchange, request, counter, body !== null, limited, listener);
  exchange.relay = relay;
  const session = exchange.session;
  if (session === undefined || !sessionsThatCut.has(session)) {
    relay.dispatch();
    return;
  }
  // A reset or a session's end may fail the body before undici, which listens to it, has it (an 'error'
  // without a listener ends the process: hostile-corpus' stream window overflow).
  body?.on('error', ignoreBodyError);
  dispatchAfterRead(relay);
}

/** h2 sessions whose client has cut a forwarded request short (a reset, mostly): see dispatchAfterRead. */
const sessionsThatCut = new WeakSet<Http2Session>();

/** The relay hears of a failed body through undici, or the client's close before the dispatch. */
function ignoreBodyError(): void {}

/** h2 relays waiting for the end of the read that carried their HEADERS (see dispatchAfterRead). */
let afterRead: ResponseRelay[] = [];

/**
 * Node hands each h2 stream to the gateway before it parses the next frame of the same read, and undici
 * writes a request at once to an idle pooled connection: a rapid-reset client's HEADERS + RST_STREAM pairs
 * would each reach the upstream before their reset is seen. Dispatching once the read is processed (one
 * setImmediate for all the streams it carried) lets those resets land first, and such a request is never
 * sent. Only sessions that have cut a request short wait so (the first reset marks the session before the
 * next frame is parsed): the setImmediate, a turn of the event loop per read, cost every h2 request about
 * 10% of its CPU.
 */
function dispatchAfterRead(relay: ResponseRelay): void {
  if (afterRead.length === 0) setImmediate(dispatchAfterReads);
  afterRead.push(relay);
}

function dispatchAfterReads(): void {
  const relays = afterRead;
  afterRead = [];
  for (const relay of relays) relay.dispatch();
}
