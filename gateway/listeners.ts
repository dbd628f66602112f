/**
 * @module The servers: public TLS (HTTP/1.1 + h2, client certificate requested), optional admin TLS
 * (client certificate required), optional plain-HTTP redirect with ACME passthrough, optional metrics.
 */
import { createServer as createHttpServer, type Server as HttpServer, type RequestListener } from 'node:http';
import { createSecureServer, type Http2SecureServer } from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { SecureContextOptions, TLSSocket } from 'node:tls';
import { ConfigError } from '../lib/errors.js';
import { applyHttp1Limits, createClientErrorHandler, limitRequests } from './client-limits.js';
import type { LimitsConfig, ListenerConfig } from './config/schema.js';
import type { ConnectionTracker } from './connection-tracker.js';
import type { GatewayRequest } from './plane-guard.js';
import type { GatewayResponse } from './proxy.js';
import type { AccessRecorder } from './request-record.js';
import type { UpgradeListener } from './upgrade-handler.js';

export interface TlsServerOptions {
  tls: SecureContextOptions;
  /** Require a client certificate that chains to the CA at the handshake (admin listener). */
  requireClientCertificate: boolean;
  onRequest: (req: GatewayRequest, res: GatewayResponse) => void;
  onUpgrade: UpgradeListener;
  tracker: ConnectionTracker;
  /** Timeouts and header limits (config `limits`). */
  limits: LimitsConfig;
  /** Writes the access line of requests refused before the pipeline (parser errors, too many headers). */
  recorder: AccessRecorder;
}

/** A TLS server speaking h2 and HTTP/1.1 (ALPN) that asks every client for a certificate. */
export function createTlsServer({
  tls,
  requireClientCertificate,
  onRequest,
  onUpgrade,
  tracker,
  limits,
  recorder,
}: TlsServerOptions): Http2SecureServer {
  const listener = limitRequests(onRequest, limits, recorder);
  const server = createSecureServer(
    {
      ...tls,
      allowHTTP1: true,
      requestCert: true,
      rejectUnauthorized: requireClientCertificate,
      handshakeTimeout: limits.handshakeTimeoutMs,
      // Node counts the pseudo-headers (:method, :path, :scheme, :authority) as entries too.
      maxHeaderListPairs: limits.maxHeaderCount + 4,
      settings: { enablePush: false, maxHeaderListSize: limits.maxHeaderBytes },
    },
    listener,
  );
  applyHttp1Limits(server, limits);
  // Expect: 100-continue is for the upstream to answer (proxy.ts), not for Node to grant up front.
  server.on('checkContinue', listener);
  server.on('secureConnection', (socket: TLSSocket) => {
    // Facts about the peer certificate are cached per connection; renegotiation must not change them.
    socket.disableRenegotiation();
    socket.setNoDelay(true);
    tracker.socket(socket);
  });
  // Idle h2 sessions: no open stream for keepAliveTimeoutMs (a stream awaiting a long-poll answer is open).
  server.on('session', (session) => tracker.session(session, limits.keepAliveTimeoutMs));
  server.on('upgrade', onUpgrade);
  // Handshake failures (scanners, wrong CA on the admin port) are routine: never crash, never log a stack.
  server.on('tlsClientError', () => {});
  // Node's HTTP/1.1 parser errors (and, on a TLS server, handshake failures) arrive here.
  server.on('clientError', createClientErrorHandler(recorder));
  return server;
}

/** A plain-HTTP server (redirects, metrics) with the same client limits as the TLS listeners. */
export function createPlainServer(
  listener: RequestListener,
  tracker: ConnectionTracker,
  limits: LimitsConfig,
): HttpServer {
  const server = createHttpServer(limitRequests(listener, limits));
  applyHttp1Limits(server, limits);
  server.on('connection', (socket) => tracker.socket(socket));
  return server;
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
