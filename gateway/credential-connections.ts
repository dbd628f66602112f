/**
 * @module Connections that outlive the request that authorised them: WebSocket upgrades (certificate or
 * token) and TLS connections whose client certificate passed the admin guard (HTTP/1.1 keep-alive, h2
 * sessions). Each ends when its credential is revoked (the store change watch calls `revoke`) or expires
 * (a timer at notAfter / exp): a per-request check alone lets an upgraded socket or a long response run on.
 */
import type { Credential, GatewayRequest } from './plane-guard.js';
import { type ClientConnection, requestConnection } from './request-connection.js';

/** Ends one connection. */
export type EndConnection = () => void;

/** setTimeout's longest delay; client certificates live for months, so expiry timers are re-armed. */
const MAX_TIMER_MS = 2 ** 31 - 1;

interface Tracked {
  credential: Credential;
  ends: Set<EndConnection>;
  timer: NodeJS.Timeout | undefined;
}

export class CredentialConnections {
  readonly #now: () => number;
  /** By `kind:id`; an entry exists only while a connection rests on it. */
  readonly #tracked = new Map<string, Tracked>();
  /** TLS connections already tracked (one certificate per connection: renegotiation is disabled). */
  readonly #carriers = new WeakSet<ClientConnection>();

  /** @param now clock, epoch ms (the expiry times are wall-clock); default Date.now */
  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** Credentials with at least one open connection. */
  get size(): number {
    return this.#tracked.size;
  }

  /**
   * Calls `end` when `credential` is revoked or expires (at once if it already has). Returns the function
   * to call when the connection closes by itself.
   */
  track(credential: Credential, end: EndConnection): () => void {
    if (credential.expiresAt <= this.#now()) {
      end();
      return () => {};
    }
    const key = `${credential.kind}:${credential.id}`;
    let entry = this.#tracked.get(key);
    if (entry === undefined) {
      entry = { credential, ends: new Set(), timer: undefined };
      this.#tracked.set(key, entry);
      this.#armExpiry(key, entry);
    }
    entry.ends.add(end);
    const tracked = entry;
    return () => {
      tracked.ends.delete(end);
      if (tracked.ends.size === 0 && this.#tracked.get(key) === tracked) this.#forget(key, tracked);
    };
  }

  /**
   * Tracks the TLS connection carrying `req` (its HTTP/1.1 socket, or its h2 session, whose streams all
   * end with it); once per connection, so a keep-alive connection costs one WeakSet lookup per request.
   */
  trackConnection(req: GatewayRequest, credential: Credential): void {
    const carrier = requestConnection(req);
    if (carrier === undefined || carrier.destroyed || this.#carriers.has(carrier)) return;
    this.#carriers.add(carrier);
    const untrack = this.track(credential, () => carrier.destroy());
    carrier.once('close', untrack);
  }

  /**
   * Ends every connection resting on a credential `isRevoked` reports revoked; call after each store
   * change. Costs one check per credential with open connections. Returns the credentials ended.
   */
  revoke(isRevoked: (credential: Credential) => boolean): Credential[] {
    const ended: Credential[] = [];
    for (const [key, entry] of this.#tracked) {
      if (!isRevoked(entry.credential)) continue;
      ended.push(entry.credential);
      this.#endAll(key, entry);
    }
    return ended;
  }

  /** Clears the expiry timers (the gateway is closing; its connections are being drained). */
  close(): void {
    for (const entry of this.#tracked.values()) clearTimeout(entry.timer);
    this.#tracked.clear();
  }

  #armExpiry(key: string, entry: Tracked) {
    const delay = entry.credential.expiresAt - this.#now();
    entry.timer = setTimeout(
      () => {
        // A long validity is waited for in steps; a timer may also fire a little before the wall clock agrees.
        if (this.#now() < entry.credential.expiresAt) this.#armExpiry(key, entry);
        else this.#endAll(key, entry);
      },
      Math.min(Math.max(delay, 1), MAX_TIMER_MS),
    );
    entry.timer.unref();
  }

  #endAll(key: string, entry: Tracked) {
    this.#forget(key, entry);
    for (const end of [...entry.ends]) end();
    entry.ends.clear();
  }

  #forget(key: string, entry: Tracked) {
    clearTimeout(entry.timer);
    this.#tracked.delete(key);
  }
}
