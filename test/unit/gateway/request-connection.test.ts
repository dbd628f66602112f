import { describe, expect, it } from 'vitest';
import type { GatewayRequest } from '../../../gateway/plane-guard.js';
import { requestConnection } from '../../../gateway/request-connection.js';

/** Request shapes as the pipeline sees them, without sockets: only what requestConnection reads. */
const http1 = (socket: object) => ({ socket, httpVersionMajor: 1 }) as unknown as GatewayRequest;
/** An h2 stream: the compatibility API hands each stream its own proxy object as `socket`. */
const h2 = (session: object) =>
  ({ socket: {}, stream: { session }, httpVersionMajor: 2 }) as unknown as GatewayRequest;

describe('requestConnection', () => {
  it('is the socket over HTTP/1.1 and the session over h2, never the per-stream socket proxy', () => {
    const socket = {};
    const session = {};
    expect(requestConnection(http1(socket))).toBe(socket);
    const stream = h2(session);
    expect(requestConnection(stream)).toBe(session);
    expect(requestConnection(stream)).not.toBe(stream.socket);
    // Another stream of the session brings another socket object, and the same session.
    expect(requestConnection(h2(session))).toBe(session);
  });

  it('an HTTP/1.1 request line claiming HTTP/2.0 is keyed by its socket (no stream, no session)', () => {
    const socket = {};
    const claimed = { socket, httpVersionMajor: 2 } as unknown as GatewayRequest;
    expect(requestConnection(claimed)).toBe(socket);
  });
});
