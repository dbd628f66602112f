/**
 * @module The HTTP request listener (HTTP/1.1 and h2): resolve, then serve a reserved path or proxy.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { pathAfterPrefix } from './canonical-path.js';
import type { ConnectionTracker } from './connection-tracker.js';
import type { CredentialConnections } from './credential-connections.js';
import { rewriteDestination } from './dav-headers.js';
import { expectsContinue } from './expect-continue.js';
import { type GatewayErrorCode, renderError } from './http-error.js';
import type { Logger } from './logger.js';
import { type GatewayRequest, isHttp2Request } from './plane-guard.js';
import { type GatewayResponse, proxyRequest } from './proxy.js';
import {
  type AccessRecorder,
  countReservedBody,
  newRequestRecord,
  type RequestRecord,
} from './request-record.js';
import {
  type PipelineState,
  type ProxyResolution,
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

export type RequestListener = (req: GatewayRequest, res: GatewayResponse) => void;

/**
 * Creates the listener for the public (and admin) TLS servers.
 * @example server.on('request', createRequestHandler({ state: () => current, logger, recorder }))
 */
export function createRequestHandler({
  state: currentState,
  logger,
  recorder,
  tracker,
  credentials,
}: PipelineDeps): RequestListener {
  function sendError(
    req: GatewayRequest,
    res: GatewayResponse,
    record: RequestRecord,
    code: GatewayErrorCode,
    extra?: OutgoingHttpHeaders,
  ) {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const rendered = renderError(code, record.id, req.headers.accept, extra);
    if (req.method !== 'HEAD') record.bytes = Buffer.byteLength(rendered.body);
    // An unread upload must not keep the connection busy after a refusal (HTTP/1.1 only; h2 resets the stream).
    if (!isHttp2Request(req) && !req.readableEnded) rendered.headers.connection = 'close';
    res.writeHead(rendered.status, rendered.headers);
    res.end(rendered.body);
  }

  async function forward(
    req: GatewayRequest,
    res: GatewayResponse,
    record: RequestRecord,
    state: PipelineState,
    { route, target, decision }: ProxyResolution,
  ) {
    const upstream = state.upstreams.get(route.upstream);
    record.upstream = upstream.name;
    const contentLength = req.headers['content-length'];
    if (
      route.maxBodyBytes !== undefined &&
      contentLength !== undefined &&
      Number(contentLength) > route.maxBodyBytes
    ) {
      record.failure = 'too_large';
      // Token routes: the request already counted against the limits, so the client sees what is left.
      sendError(req, res, record, 'payload_too_large', decision.responseHeaders);
      return;
    }
    // One address (one connection, or a crowd behind one NAT) never holds the upstream's whole pool.
    const client = record.client;
    const inflight = upstream.inflightByClient.get(client) ?? 0;
    if (inflight >= upstream.requestsPerClient) {
      record.denied = 'client_inflight';
      sendError(req, res, record, 'upstream_busy', decision.responseHeaders);
      return;
    }
    upstream.inflightByClient.set(client, inflight + 1);
    try {
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
      const outcome = await proxyRequest(
        req,
        res,
        {
          upstream,
          method: req.method ?? 'GET',
          path: path + target.query,
          headers,
          maxBodyBytes: route.maxBodyBytes,
          extraResponseHeaders: decision.responseHeaders,
          strippedPrefix,
          expectsContinue: expectsContinue(req),
        },
        record,
      );
      if (outcome.failure) {
        recorder.upstreamFailed(record, upstream.name, outcome.failure, outcome.error);
        const code = upstreamFailureCode(outcome.failure);
        if (code === undefined) res.destroy();
        else sendError(req, res, record, code, decision.responseHeaders);
      }
    } finally {
      const left = (upstream.inflightByClient.get(client) ?? 1) - 1;
      if (left === 0) upstream.inflightByClient.delete(client);
      else upstream.inflightByClient.set(client, left);
    }
  }

  async function handle(req: GatewayRequest, res: GatewayResponse, record: RequestRecord) {
    const state = currentState();
    // Set before any head is written: an upstream's own header, passed to writeHead, replaces this one.
    // Never over plain HTTP (ACME passthrough), where RFC 6797 §7.2 forbids it.
    if (state.hsts !== undefined && (req.socket as TLSSocket).encrypted)
      res.setHeader('strict-transport-security', state.hsts);
    const resolving = resolveRequest(req, state, record);
    const resolution = resolving instanceof Promise ? await resolving : resolving;
    // A certificate authorises its whole connection: it is closed when the certificate is revoked or expires.
    if (resolution.kind !== 'refused' && resolution.decision.credential?.kind === 'certificate')
      credentials.trackConnection(req, resolution.decision.credential);
    switch (resolution.kind) {
      case 'refused':
        if (resolution.reason) recorder.denied(record, resolution.reason);
        sendError(req, res, record, resolution.code, resolution.headers);
        return;
      case 'reserved':
        countReservedBody(res, record);
        // The gateway answers these itself: it also says when to send the body.
        if (expectsContinue(req)) res.writeContinue();
        await state.serveReserved(req, res, resolution.decision, record.id);
        return;
      case 'proxy':
        await forward(req, res, record, state, resolution);
        return;
    }
  }

  return function mailgateRequest(req, res) {
    const record = newRequestRecord(req);
    tracker.requestStarted(req, res);
    // 'close' fires once per response: on() spares once()'s wrapper, one per request.
    res.on('close', () => {
      tracker.requestEnded(req);
      recorder.finish(record, res.headersSent ? res.statusCode : 499, res.writableFinished);
    });
    handle(req, res, record).catch((error: unknown) => {
      logger.error({ reqId: record.id, err: error }, 'internal error');
      try {
        sendError(req, res, record, 'internal_error');
      } catch {
        // The response cannot be written any more (a reset stream): cut it rather than reject unhandled.
        res.destroy();
      }
    });
  };
}
