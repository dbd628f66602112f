/**
 * @module Per-address limits, as nginx's limit_conn and limit_req: concurrent connections per peer address
 * and a request rate (token bucket) per client address, each counted under the address's limit key (an
 * IPv6 address by its prefix, limit-key.ts). Memory stays bounded whatever addresses arrive: a connection
 * count lives only while that key has an open connection, and the bucket table holds at most `tableSize`
 * keys (full buckets are dropped first, since they equal new ones; then the oldest).
 */
import type { Server, Socket } from 'node:net';
import type { AddressSet } from '../lib/cidr.js';
import {
  type BucketLimits,
  type BucketState,
  isFull,
  newBucket,
  retryAfterSeconds,
  take,
} from '../tokens/token-bucket.js';
import { plainAddress } from './client-address.js';
import { LimitKeys } from './limit-key.js';

export interface AddressLimitsConfig {
  /** Open connections per peer address; 0 = no cap. */
  clientConnections: number;
  /** Sustained requests per minute per client address; 0 = no rate limit. */
  clientRequestsPerMinute: number;
  /** Requests an address may send at once above the sustained rate (the bucket's size). */
  clientRequestBurst: number;
  /** Most addresses whose bucket is kept. */
  clientTableSize: number;
  /** Leading bits of an IPv6 address that name one client (limit-key.ts). */
  clientIpv6Prefix: number;
}

/** What was refused since start (read at scrape time: no metric call on the hot path). */
export interface AddressLimitCounts {
  connections: number;
  requests: number;
}

export class AddressLimits {
  readonly refused: AddressLimitCounts = { connections: 0, requests: 0 };
  /** The key each limit counts an address under; every per-address limit of the gateway uses these. */
  readonly keys: LimitKeys;
  readonly #maxConnections: number;
  readonly #bucket: BucketLimits;
  readonly #tableSize: number;
  readonly #connections = new Map<string, number>();
  readonly #buckets = new Map<string, BucketState>();

  constructor(config: AddressLimitsConfig) {
    this.#maxConnections = config.clientConnections;
    this.#bucket = { count: config.clientRequestsPerMinute, perMs: 60_000, burst: config.clientRequestBurst };
    this.#tableSize = config.clientTableSize;
    this.keys = new LimitKeys(config.clientIpv6Prefix);
  }

  /** Keys with an open connection, and keys with a bucket (for tests and the gauge). */
  get sizes(): { connections: number; buckets: number } {
    return { connections: this.#connections.size, buckets: this.#buckets.size };
  }

  /** Counts one more connection under `key` (keys.of); false (nothing counted) when it already holds the cap. */
  openConnection(key: string): boolean {
    const open = this.#connections.get(key) ?? 0;
    if (this.#maxConnections > 0 && open >= this.#maxConnections) {
      this.refused.connections++;
      return false;
    }
    this.#connections.set(key, open + 1);
    return true;
  }

  /** Call once for every connection `openConnection` admitted, when it closes. */
  closeConnection(key: string): void {
    const open = (this.#connections.get(key) ?? 1) - 1;
    if (open <= 0) this.#connections.delete(key);
    else this.#connections.set(key, open);
  }

  /**
   * Takes one request from the bucket of `key` (keys.of) at `now` (monotonic ms). 0 when allowed, else the
   * seconds the client should wait (Retry-After).
   */
  takeRequest(key: string, now: number): number {
    const limits = this.#bucket;
    if (limits.count === 0) return 0;
    let bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      if (this.#buckets.size >= this.#tableSize) this.#makeRoom(now);
      bucket = newBucket(now, limits);
      this.#buckets.set(key, bucket);
    }
    if (take(bucket, now, limits)) return 0;
    this.refused.requests++;
    return retryAfterSeconds(bucket, limits);
  }

  /**
   * Drops every full bucket (nothing is forgotten: a new one is the same), then the oldest until half the
   * table is free, so that a flood of new keys costs one sweep per tableSize/2 of them. A dropped busy
   * key starts again with a full bucket: eviction can only make the limit more lenient.
   */
  #makeRoom(now: number) {
    const limits = this.#bucket;
    for (const [key, bucket] of this.#buckets) {
      if (isFull(bucket, now, limits)) this.#buckets.delete(key);
    }
    const keep = this.#tableSize >> 1;
    for (const key of this.#buckets.keys()) {
      if (this.#buckets.size <= keep) break;
      this.#buckets.delete(key);
    }
  }
}

/**
 * Caps connections per peer address on `server` (TLS or plain): a connection over the cap is destroyed as
 * it is accepted, before any TLS work. Peers in `trusted` (proxies carrying many clients) are not capped;
 * their clients are still rate-limited by the address they forward.
 */
export function capConnections(server: Server, limits: AddressLimits, trusted: () => AddressSet): void {
  // Prepended: it runs before the TLS server wraps the socket and starts reading a ClientHello.
  server.prependListener('connection', (socket: Socket) => {
    const address = plainAddress(socket.remoteAddress);
    if (address === '') {
      socket.destroy();
      return;
    }
    if (trusted().has(address)) return;
    // Once per connection: every address of an IPv6 client's prefix counts towards one cap.
    const key = limits.keys.of(address);
    if (!limits.openConnection(key)) {
      socket.destroy();
      return;
    }
    socket.once('close', () => limits.closeConnection(key));
  });
}
