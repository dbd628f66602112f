/**
 * @module The servers: public TLS (HTTP/1.1 + h2, client certificate requested), optional admin TLS
 * (client certificate required), optional plain-HTTP redirect with ACME passthrough, optional metrics.
 */
import {
  createServer as createHttpServer,
  type Server as HttpServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type RequestListener,
  type ServerResponse,
} from 'node:http';
import {
  createSecureServer,
  type Http2SecureServer,
  type Http2Session,
  type ServerHttp2Stream,
} from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { SecureContextOptions, TLSSocket } from 'node:tls';
import { ConfigError } from '../lib/errors.js';
import {
  applyHttp1Limits,
  createClientErrorHandler,
  headerListSize,
  limitRequests,
  watchStreamBody,
} from './client-limits.js';
import type { LimitsConfig, ListenerConfig } from './config/schema.js';
import type { ConnectionTracker } from './connection-tracker.js';
import { type Exchange, Http2Exchange, http1Listener } from './exchange.js';
import { expectsContinue } from './expect-continue.js';
import type { Logger } from './logger.js';
import type { GatewayRequest } from './plane-guard.js';
import { requestConnection } from './request-connection.js';
import type { AccessRecorder } from './request-record.js';
import type { UpgradeListener } from './upgrade-handler.js';

/**
 * HTTP/1.1 sockets and h2 sessions accepted by the admin listener (config `admin.listenerOnly` serves
 * /_mailgate/admin/ only there). The session, not its socket: h2 hands out a proxy in place of the socket.
 */
const adminListenerConnections = new WeakSet<Socket | Http2Session>();

/** True when `req` came through the admin listener (told by its stream's kind, never its version). */
export function arrivedOnAdminListener(req: GatewayRequest): boolean {
  const connection = requestConnection(req);
  return connection !== undefined && adminListenerConnections.has(connection);
}

export interface TlsServerOptions {
  tls: SecureContextOptions;
  /** Require a client certificate that chains to the CA at the handshake (admin listener). */
  requireClientCertificate: boolean;
  /** Serves every request, HTTP/1.1 and h2 alike. */
  onExchange: (exchange: Exchange) => void;
  onUpgrade: UpgradeListener;
  tracker: ConnectionTracker;
  /** Timeouts and header limits (config `limits`). */
  limits: LimitsConfig;
  /** Writes the access line of requests refused before the pipeline (parser errors, too many headers). */
  recorder: AccessRecorder;
  /** Where a listener's own failure is reported (the connection it served is closed, nothing else). */
  logger: Logger;
}

/** A TLS server speaking h2 and HTTP/1.1 (ALPN) that asks every client for a certificate. */
export function createTlsServer({
  tls,
  requireClientCertificate,
  onExchange,
  onUpgrade,
  tracker,
  limits,
  recorder,
  logger,
}: TlsServerOptions): Http2SecureServer {
  const listener = contained(
    'request',
    logger,
    limitRequests(http1Listener(onExchange), limits, recorder),
    abandonResponse,
  );
  const server = createSecureServer({
    ...tls,
    allowHTTP1: true,
    requestCert: true,
    rejectUnauthorized: requireClientCertificate,
    handshakeTimeout: limits.handshakeTimeoutMs,
    // Node counts the pseudo-headers (:method, :path, :scheme, :authority) as entries too.
    maxHeaderListPairs: limits.maxHeaderCount + 4,
    maxSessionMemory: limits.h2MaxSessionMemoryMiB,
    settings: {
      enablePush: false,
      maxHeaderListSize: limits.maxHeaderBytes,
      // Node's default is 2^32-1: one connection could hold thousands of streams and the upstream pool.
      maxConcurrentStreams: limits.h2MaxConcurrentStreams,
    },
  });
  // HTTP/1.1 (allowHTTP1) arrives as node:http's 'request' on this server. Adding that listener makes Node
  // add its compatibility 'stream' listener too (setupCompat in lib/internal/http2/core.js), which would
  // build an Http2ServerRequest and Http2ServerResponse per h2 stream: a third of the h2 path's CPU. It is
  // removed, and h2 streams are served through the core stream API (Http2Exchange).
  server.on('request', listener);
  server.removeAllListeners('stream');
  server.on('stream', contained('stream', logger, serveStreams(onExchange, limits), abandonStream));
  applyHttp1Limits(server, limits);
  // Expect: 100-continue is for the upstream to answer (proxy.ts), not for Node to grant up front.
  server.on('checkContinue', listener);
  server.on(
    'secureConnection',
    contained(
      'secureConnection',
      logger,
      (socket: TLSSocket) => {
        // Facts about the peer certificate are cached per connection; renegotiation must not change them.
        socket.disableRenegotiation();
        socket.setNoDelay(true);
        tracker.socket(socket);
        if (requireClientCertificate) adminListenerConnections.add(socket);
      },
      destroySocket,
    ),
  );
  // Idle h2 sessions: no open stream for keepAliveTimeoutMs (a stream awaiting a long-poll answer is open).
  server.on(
    'session',
    contained(
      'session',
      logger,
      (session: Http2Session) => {
        tracker.session(session, limits.keepAliveTimeoutMs);
        if (requireClientCertificate) adminListenerConnections.add(session);
      },
      destroySession,
    ),
  );
  server.on('upgrade', contained('upgrade', logger, onUpgrade, abandonUpgrade));
  // Handshake failures (scanners, wrong CA on the admin port) are routine: never crash, never log a stack.
  server.on('tlsClientError', (_error: Error, socket: TLSSocket) => socket.destroy());
  // Node's HTTP/1.1 parser errors (and, on a TLS server, handshake failures) arrive here.
  server.on(
    'clientError',
    contained('clientError', logger, createClientErrorHandler(recorder), abandonClientError),
  );
  return server;
}

/**
 * The 'stream' listener: each h2 stream becomes an Http2Exchange. A header list over limits.maxHeaderBytes
 * (431), CONNECT (405) and an expectation other than 100-continue (417, RFC 9110 §10.1.1) are answered
 * here, as node:http does for HTTP/1.1.
 */
function serveStreams(onExchange: (exchange: Exchange) => void, limits: LimitsConfig) {
  const idleMs = limits.bodyIdleTimeoutMs;
  const maxHeaderList = limits.maxHeaderBytes;
  return function mailgateStream(
    stream: ServerHttp2Stream,
    headers: IncomingHttpHeaders,
    _flags: number,
    rawHeaders: string[],
  ) {
    const exchange = new Http2Exchange(stream, headers, rawHeaders);
    const refusal =
      headerListSize(rawHeaders) > maxHeaderList
        ? 431
        : exchange.method === 'CONNECT'
          ? 405
          : headers.expect !== undefined && !expectsContinue(exchange)
            ? 417
            : 0;
    if (refusal !== 0) {
      stream.respond({ ':status': refusal, 'content-length': 0 }, { endStream: true });
      return;
    }
    if (exchange.hasBody) watchStreamBody(exchange, idleMs);
    onExchange(exchange);
  };
}

/** A plain-HTTP server (redirects, metrics) with the same client limits as the TLS listeners. */
export function createPlainServer(
  listener: RequestListener,
  tracker: ConnectionTracker,
  limits: LimitsConfig,
  logger: Logger,
): HttpServer {
  const server = createHttpServer(
    contained('request', logger, limitRequests(listener, limits), abandonResponse),
  );
  applyHttp1Limits(server, limits);
  server.on(
    'connection',
    contained('connection', logger, (socket: Socket) => tracker.socket(socket), destroySocket),
  );
  return server;
}

/**
 * Wraps a listener of a server event so that a failure in it (a bug, or input nobody thought of) costs only
 * the connection it was serving: an uncaught throw in an event listener would end the process, dropping
 * every client. `abandon` gets the listener's arguments and closes that one connection.
 */
function contained<L extends (a: never, b: never, c: never, d: never) => void>(
  event: string,
  logger: Logger,
  listener: L,
  abandon: (a: Parameters<L>[0], b: Parameters<L>[1]) => void,
): L {
  const run = listener as unknown as (a: unknown, b: unknown, c: unknown, d: unknown) => void;
  return function containedListener(a: Parameters<L>[0], b: Parameters<L>[1], c: unknown, d: unknown) {
    try {
      run(a, b, c, d);
    } catch (error) {
      logger.error({ err: error, event }, 'listener failed; closing its connection');
      try {
        abandon(a, b);
      } catch {
        // Nothing more can be done for that connection; the process and the others carry on.
      }
    }
  } as unknown as L;
}

/** A request whose handler failed: a bare 500 if nothing was sent yet, else the connection is cut. */
function abandonResponse(_req: IncomingMessage, res: ServerResponse) {
  if (res.headersSent) res.destroy();
  else res.writeHead(500, { connection: 'close', 'content-length': 0 }).end();
}

/** A stream whose handler failed: a bare 500 if nothing was sent yet, else the stream is reset. */
function abandonStream(stream: ServerHttp2Stream) {
  // A closed stream is left alone: Node 20 loops for good when one is destroyed in the tick it was closed in.
  if (stream.closed) return;
  if (stream.headersSent || stream.destroyed) stream.destroy();
  else stream.respond({ ':status': 500, 'content-length': 0 }, { endStream: true });
}

function destroySocket(socket: Socket) {
  socket.destroy();
}

function destroySession(session: Http2Session) {
  session.destroy();
}

function abandonUpgrade(_req: unknown, socket: Duplex) {
  socket.destroy();
}

function abandonClientError(_error: unknown, socket: Duplex) {
  socket.destroy();
}

/** Binds `server` and resolves with its address (port 0 picks a free port).
 * @throws ConfigError naming `key` (e.g. `listen.https`) when the address cannot be bound.
 */
export function listen(
  server: HttpServer | Http2SecureServer,
  { host, port }: ListenerConfig,
  key: string,
): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const fail = (error: NodeJS.ErrnoException) => reject(listenError(key, `${host}:${port}`, error));
    server.once('error', fail);
    server.listen(port, host, () => {
      server.off('error', fail);
      resolve(server.address() as AddressInfo);
    });
  });
}

function listenError(key: string, address: string, error: NodeJS.ErrnoException): ConfigError {
  const reason =
    error.code === 'EADDRINUSE'
      ? `${address} is already in use by another process`
      : error.code === 'EACCES'
        ? `no permission to listen on ${address} (ports below 1024 need root or CAP_NET_BIND_SERVICE)`
        : error.code === 'EADDRNOTAVAIL'
          ? `${address} is not an address of this machine`
          : `cannot listen on ${address}: ${error.message}`;
  return new ConfigError(key, reason, { cause: error });
}
