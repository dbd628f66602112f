/**
 * @module The client connection a request arrived on: HTTP/1.1 its socket, h2 its session (which all its
 * streams share). What is worked out once per connection is keyed by it (lib/per-connection.ts).
 */
import type { Http2Session } from 'node:http2';
import type { Socket } from 'node:net';
import { type GatewayRequest, isHttp2Request } from './plane-guard.js';

/** One client connection: an HTTP/1.1 socket, or an h2 session. */
export type ClientConnection = Socket | Http2Session;

/**
 * The connection carrying `req`. Over h2 the session, never `req.socket`: the compatibility API hands out
 * a new proxy of the socket per stream, so a value keyed by it would be worked out per request. Undefined
 * for a stream whose session is already gone.
 */
export function requestConnection(req: GatewayRequest): ClientConnection | undefined {
  return isHttp2Request(req) ? req.stream.session : req.socket;
}
