/**
 * @module The contract between the request pipeline and each plane's guard (public, admin, token).
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { ServerHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';
import type { ClientRole } from '../certs/rules.js';
import type { GatewayErrorCode } from './http-error.js';
import type { Route } from './route-table.js';

/**
 * What the decision path and the guards read of a request: an HTTP/1.1 IncomingMessage, or an h2 stream's
 * exchange (gateway/exchange.ts), which has the same fields.
 */
export interface GatewayRequest {
  readonly method?: string | undefined;
  /** The request target as received (:path over h2). */
  readonly url?: string | undefined;
  readonly headers: IncomingHttpHeaders;
  /** Names and values as received, repeats included (Node keeps only the first of some in `headers`). */
  readonly rawHeaders: string[];
  /** The connection's socket: peer address, `encrypted`, the peer certificate (h2: the session's socket). */
  readonly socket: Socket;
  readonly httpVersionMinor: number;
  /** The h2 stream; absent over HTTP/1.x. */
  readonly stream?: ServerHttp2Stream | undefined;
}

/**
 * Whether `req` is an h2 stream. Never decide by `httpVersionMajor`: the HTTP/1.1 parser takes it from the
 * request line, so `GET / HTTP/2.0` over HTTP/1.1 framing claims 2 and has no stream.
 */
export function isHttp2Request(req: GatewayRequest): req is GatewayRequest & { stream: ServerHttp2Stream } {
  return req.stream !== undefined;
}
export type Plane = 'public' | 'admin' | 'token';

export interface GuardInput {
  req: GatewayRequest;
  /** The matched route; undefined for reserved admin paths (`/_mailgate/admin/...`, `/_mailgate/metrics`). */
  route: Route | undefined;
  /** Normalised Host / :authority. */
  host: string;
  /** Canonical path (for audit records). */
  path: string;
  /** Client address after trusted-proxy handling. */
  clientAddress: string;
  /** The socket's own peer address (never a header). */
  peerAddress: string;
}

/** A credential that can be revoked or expire: what let a request or an upgraded connection through. */
export interface Credential {
  kind: 'certificate' | 'token';
  /** Certificate serial (lowercase hex) or token id. */
  id: string;
  /** notAfter or exp, epoch ms. */
  expiresAt: number;
}

export interface Allowed {
  allowed: true;
  /** Headers to set towards the upstream (X-Mailgate-*). */
  identity?: Record<string, string> | undefined;
  /** Who it was, for the access log: app or certificate serial. */
  principal?: string | undefined;
  /** Admin plane: the certificate's role (the admin API checks it per endpoint). */
  role?: ClientRole | undefined;
  /** Headers to add to the response (RateLimit-*). */
  responseHeaders?: OutgoingHttpHeaders | undefined;
  /** The certificate or token it rests on: connections it keeps open end when that is revoked or expires. */
  credential?: Credential | undefined;
}

export interface Denied {
  allowed: false;
  code: GatewayErrorCode;
  /** Precise reason for logs, metrics and the audit trail; never sent to the client. */
  reason: string;
  responseHeaders?: OutgoingHttpHeaders | undefined;
  principal?: string | undefined;
}

export type GuardDecision = Allowed | Denied;

/** Decides whether one request may pass its plane. */
export type PlaneGuard = (input: GuardInput) => GuardDecision | Promise<GuardDecision>;

export const ALLOW: Allowed = { allowed: true };
