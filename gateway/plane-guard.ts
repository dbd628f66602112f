/**
 * @module The contract between the request pipeline and each plane's guard (public, admin, token).
 */
import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import type { ClientRole } from '../certs/rules.js';
import type { GatewayErrorCode } from './http-error.js';
import type { Route } from './route-table.js';

export type GatewayRequest = IncomingMessage | Http2ServerRequest;

/**
 * Whether `req` is an h2 stream. Never decide by `httpVersionMajor`: the HTTP/1.1 parser takes it from the
 * request line, so `GET / HTTP/2.0` over HTTP/1.1 framing claims 2 and has no stream.
 */
export function isHttp2Request(req: GatewayRequest): req is Http2ServerRequest {
  return (req as Http2ServerRequest).stream !== undefined;
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
