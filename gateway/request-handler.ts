/**
 * @module The exchange handler (HTTP/1.1 and h2 alike): resolve, then serve a reserved path or proxy.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { pathAfterPrefix } from './canonical-path.js';
import type { ConnectionTracker } from './connection-tracker.js';
import type { CredentialConnections } from './credential-connections.js';
import { rewriteDestination } from './dav-headers.js';
import type { Exchange, ExchangeObserver } from './exchange.js';
import { expectsContinue } from './expect-continue.js';
import { type GatewayErrorCode, renderError } from './http-error.js';
import type { Logger } from './logger.js';
import { isHttp2Request } from './plane-guard.js';
import { type ProxyRequest, type ProxySettledListener, proxyRequest, type UpstreamFailure } from './proxy.js';
import {
  type AccessRecorder,
  countReservedBody,
  newRequestRecord,
  type RequestRecord,
} from './request-record.js';
import {
  type PipelineState,
  type ProxyResolution,
  type Resolution,
  requestAuthority,
  resolveRequest,
  upstreamHeaders,
} from './resolve-request.js';
import { upstreamFailureCode } from './upstream-failure.js';

export interface PipelineDeps {
  state: () => PipelineState;
  logger: Logger;
  recorder: AccessRecorder;
  tracker: ConnectionTracker;
  /** Closes connections whose client certificate is revoked or expires. */
  credentials: CredentialConnections;
}

export type ExchangeHandler = (exchange: Exchange) => void;

/**
 * Creates the handler of every exchange of the public (and admin) TLS servers and the ACME passthrough.
 * @example createTlsServer({ onExchange: createRequestHandler({ state: () => current, logger, recorder, tracker, credentials }), ... })
 */
export function createRequestHandler(deps: PipelineDeps): ExchangeHandler {
  const pipeline = new RequestPipeline(deps);
  return function mailgateExchange(exchange) {
    pipeline.serve(exchange);
  };
}

/**
 * The exchange handler's state and steps. A public-route request runs to completion through methods of this
 * one object: its 'close' (exchangeClosed) and the relay's end (proxySettled) come back here, so nothing is
 * suspended and no closure is made per request; only a guard that really awaits (token) costs a promise.
 */
class RequestPipeline implements ExchangeObserver, ProxySettledListener {
  readonly #state: () => PipelineState;
  readonly #logger: Logger;
  readonly #recorder: AccessRecorder;
  readonly #tracker: ConnectionTracker;
  readonly #credentials: CredentialConnections;

  constructor({ state, logger, recorder, tracker, credentials }: PipelineDeps) {
    this.#state = state;
    this.#logger = logger;
    this.#recorder = recorder;
    this.#tracker = tracker;
    this.#credentials = credentials;
  }

  serve(exchange: Exchange): void {
    const record = newRequestRecord(exchange.req.method);
    exchange.record = record;
    this.#tracker.requestStarted(exchange);
    exchange.onClose(this);
    try {
      this.#handle(exchange, record);
    } catch (error) {
      this.#internalError(exchange, record, error);
    }
  }

  /** The exchange is over: the tracker, the access line, then the relay (an abort cancels the upstream). */
  exchangeClosed(exchange: Exchange): void {
    const record = exchange.record!;
    this.#tracker.requestEnded(exchange);
    this.#recorder.finish(record, exchange.headersSent ? exchange.statusCode : 499, exchange.completed);
    exchange.relay?.clientClosed();
  }

  #handle(exchange: Exchange, record: RequestRecord): void {
    const state = this.#state();
    const req = exchange.req;
    // Set before any head is written: an upstream's own header, passed to respond, replaces this one.
    // Never over plain HTTP (ACME passthrough), where RFC 6797 §7.2 forbids it.
    if (state.hsts !== undefined && (req.socket as TLSSocket).encrypted)
      exchange.setHeader('strict-transport-security', state.hsts);
    const resolving = resolveRequest(req, state, record);
    if (resolving instanceof Promise) {
      resolving
        .then((resolution) => this.#act(exchange, record, state, resolution))
        .catch((error: unknown) => this.#internalError(exchange, record, error));
      return;
    }
    this.#act(exchange, record, state, resolving);
  }

  #act(exchange: Exchange, record: RequestRecord, state: PipelineState, resolution: Resolution): void {
    const req = exchange.req;
    // A certificate authorises its whole connection: it is closed when the certificate is revoked or expires.
    if (resolution.kind !== 'refused' && resolution.decision.credential?.kind === 'certificate')
      this.#credentials.trackConnection(req, resolution.decision.credential);
    switch (resolution.kind) {
      case 'refused':
        if (resolution.reason) this.#recorder.denied(record, resolution.reason);
        this.#sendError(exchange, record, resolution.code, resolution.headers);
        return;
      case 'reserved': {
        // The gateway answers these itself: it also says when to send the body.
        if (expectsContinue(req)) exchange.informational(100);
        const [nodeReq, nodeRes] = exchange.nodePair();
        countReservedBody(nodeRes, record);
        state
          .serveReserved(nodeReq, nodeRes, resolution.decision, record.id)
          .catch((error: unknown) => this.#internalError(exchange, record, error));
        return;
      }
      case 'proxy':
        this.#forward(exchange, record, state, resolution);
        return;
    }
  }

  #forward(
    exchange: Exchange,
    record: RequestRecord,
    state: PipelineState,
    { route, target, decision }: ProxyResolution,
  ): void {
    const upstream = state.upstreams.get(route.upstream);
    record.upstream = upstream.name;
    const req = exchange.req;
    const contentLength = req.headers['content-length'];
    if (
      route.maxBodyBytes !== undefined &&
      contentLength !== undefined &&
      Number(contentLength) > route.maxBodyBytes
    ) {
      record.failure = 'too_large';
      // Token routes: the request already counted against the limits, so the client sees what is left.
      this.#sendError(exchange, record, 'payload_too_large', decision.responseHeaders);
      return;
    }
    // One address (one connection, a crowd behind one NAT, an IPv6 prefix) never holds the upstream's whole pool.
    const client = record.limitKey;
    const inflight = upstream.inflightByClient.get(client) ?? 0;
    if (inflight >= upstream.requestsPerClient) {
      record.denied = 'client_inflight';
      this.#sendError(exchange, record, 'upstream_busy', decision.responseHeaders);
      return;
    }
    let path = target.path;
    const strippedPrefix = route.stripPrefix ? route.prefix : '';
    if (strippedPrefix !== '') path = pathAfterPrefix(path, strippedPrefix);
    const headers = upstreamHeaders(req, record, route, decision);
    // WebDAV COPY/MOVE name their target by absolute URL: the upstream must see its own origin in it.
    if (headers.destination !== undefined && upstream.rewriteDestination)
      headers.destination = rewriteDestination(String(headers.destination), {
        publicAuthority: requestAuthority(req),
        upstreamOrigin: upstream.origin,
        strippedPrefix,
      });
    // Counted until proxyReleased, which the relay calls exactly once: requests the client gave up on while
    // they wait for a connection stay its own, so resets and queue timeouts cannot grow the pool's queue.
    upstream.inflightByClient.set(client, inflight + 1);
    proxyRequest(
      exchange,
      {
        upstream,
        method: req.method ?? 'GET',
        path: path + target.query,
        headers,
        maxBodyBytes: route.maxBodyBytes,
        extraResponseHeaders: decision.responseHeaders,
        strippedPrefix,
        expectsContinue: expectsContinue(req),
        body: null,
      },
      record,
      this,
    );
    exchange.headersForwarded();
  }

  /** The relay is done: the error response and metrics of a failure. */
  proxySettled(
    exchange: Exchange,
    request: ProxyRequest,
    failure: UpstreamFailure | undefined,
    error: unknown,
  ): void {
    const record = exchange.record!;
    const upstream = request.upstream;
    try {
      if (failure !== undefined) {
        this.#recorder.upstreamFailed(record, upstream.name, failure, error);
        const code = upstreamFailureCode(failure);
        if (code === undefined) exchange.destroy();
        else this.#sendError(exchange, record, code, request.extraResponseHeaders);
      }
    } catch (thrown) {
      this.#internalError(exchange, record, thrown);
    }
  }

  /** undici let go of the request: the client's in-flight count. */
  proxyReleased(exchange: Exchange, { upstream }: ProxyRequest): void {
    const client = exchange.record!.limitKey;
    const left = (upstream.inflightByClient.get(client) ?? 1) - 1;
    if (left === 0) upstream.inflightByClient.delete(client);
    else upstream.inflightByClient.set(client, left);
  }

  #sendError(exchange: Exchange, record: RequestRecord, code: GatewayErrorCode, extra?: OutgoingHttpHeaders) {
    if (exchange.headersSent) {
      exchange.destroy();
      return;
    }
    const req = exchange.req;
    const rendered = renderError(code, record.id, req.headers.accept, extra);
    if (req.method !== 'HEAD') record.bytes = Buffer.byteLength(rendered.body);
    // An unread upload must not keep the connection busy after a refusal (HTTP/1.1 only; h2 resets the stream).
    if (!isHttp2Request(req) && !exchange.body.readableEnded) rendered.headers.connection = 'close';
    exchange.respond(rendered.status, rendered.headers);
    exchange.end(rendered.body);
  }

  #internalError(exchange: Exchange, record: RequestRecord, error: unknown): void {
    this.#logger.error({ reqId: record.id, err: error }, 'internal error');
    try {
      this.#sendError(exchange, record, 'internal_error');
    } catch {
      // The response cannot be written any more (a reset stream): cut it rather than throw into an emitter.
      exchange.destroy();
    }
  }
}
