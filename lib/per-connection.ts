/**
 * @module A value per client connection, worked out on its first request and kept as long as the
 * connection (a WeakMap: nothing to forget when it closes).
 */

/**
 * Only facts fixed for a connection's life belong here (its TLS handshake: peer certificate, SNI) and what
 * follows from them alone; anything that can change under an open connection (revocation, expiry, the
 * store's roles, the client address behind a proxy) is decided per request by the caller. The connection
 * must be one object for the connection's whole life and for nothing else: an HTTP/1.1 socket, an h2
 * session (never the socket object the h2 compatibility API makes per stream).
 */
export class PerConnection<T> {
  readonly #values = new WeakMap<object, T>();

  /**
   * The value for `connection`, made by `read(request)` on its first use. Without a connection (a stream
   * whose session is gone) it is read afresh and kept nowhere.
   * @example const facts = certificates.get(requestConnection(req), req, readFacts)
   */
  get<R>(connection: object | undefined, request: R, read: (request: R) => T): T {
    if (connection === undefined) return read(request);
    let value = this.#values.get(connection);
    if (value === undefined) {
      value = read(request);
      this.#values.set(connection, value);
    }
    return value;
  }
}
