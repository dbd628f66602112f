/**
 * @module One undici keep-alive Pool per configured upstream, with an explicit lifecycle.
 */
import { createRequire } from 'node:module';
import type { Pool } from 'undici';
import { ClosedError } from '../lib/errors.js';
import { DEFAULT_LIMITS } from './config/defaults.js';
import type { LimitsConfig, UpstreamConfig } from './config/schema.js';

export type UpstreamFairness = Pick<LimitsConfig, 'upstreamQueueTimeoutMs' | 'upstreamRequestsPerClient'>;

// undici's index also loads fetch, WebSocket, EventSource, the cache and the mock agents: ~4 MB of heap
// and ~6 MB of RSS that a gateway never uses. Pool alone is all we need (undici is pinned to an exact version).
const PoolClass = createRequire(import.meta.url)('undici/lib/dispatcher/pool.js') as typeof Pool;

export interface Upstream {
  name: string;
  pool: Pool;
  /** Budget for response headers and for body idle time, ms (timed by the relay, not by undici). */
  timeoutMs: number;
  /** `scheme://host:port` as configured, for WebDAV's absolute URLs (dav-headers.ts). */
  origin: string;
  /** Config `rewriteDestination`. */
  rewriteDestination: boolean;
  /** How long a request may wait for a free connection before it is answered 503, ms. */
  queueTimeoutMs: number;
  /** Most requests one client address may have in flight here. */
  requestsPerClient: number;
  /** Requests in flight per client limit key (entries removed at zero), for limits.upstreamRequestsPerClient. */
  inflightByClient: Map<string, number>;
}

/**
 * The most requests one client address may have in flight on an upstream: a share of its pool, at least
 * one, or a fixed count.
 * @param setting config `limits.upstreamRequestsPerClient`: `75%` or a number
 * @param connections the upstream's pool size (`upstreams.NAME.connections`)
 * @example requestsPerClientOf('75%', 128) // 96
 */
export function requestsPerClientOf(setting: LimitsConfig['upstreamRequestsPerClient'], connections: number) {
  if (typeof setting === 'number') return setting;
  return Math.max(1, Math.floor((connections * Number.parseInt(setting, 10)) / 100));
}

export class Upstreams {
  readonly #byName = new Map<string, Upstream>();
  #closed = false;

  /** @param fairness config `limits.upstreamQueueTimeoutMs` and `limits.upstreamRequestsPerClient` */
  constructor(
    configs: Record<string, UpstreamConfig>,
    {
      upstreamQueueTimeoutMs: queueTimeoutMs,
      upstreamRequestsPerClient: requestsPerClient,
    }: UpstreamFairness = DEFAULT_LIMITS,
  ) {
    for (const [name, config] of Object.entries(configs)) {
      const origin = new URL(config.url).origin;
      const pool = new PoolClass(origin, {
        connections: config.connections,
        connect: { timeout: config.connectTimeoutMs },
        // Timed by the relay instead (proxy.ts): undici's per-request timers wait in its half-second timer
        // wheel long enough to be promoted to the old generation, a full GC every 2-3 s under load.
        headersTimeout: 0,
        bodyTimeout: 0,
        keepAliveTimeout: 30_000,
        // Pipelining would let one slow ActiveSync request stall the ones queued behind it.
        pipelining: 1,
      });
      this.#byName.set(name, {
        name,
        pool,
        timeoutMs: config.timeoutMs,
        origin,
        rewriteDestination: config.rewriteDestination,
        queueTimeoutMs,
        requestsPerClient: requestsPerClientOf(requestsPerClient, config.connections),
        inflightByClient: new Map(),
      });
    }
  }

  /** @throws ClosedError after close(); a missing name is a config bug caught at load time. */
  get(name: string): Upstream {
    if (this.#closed) throw new ClosedError('upstreams');
    return this.#byName.get(name)!;
  }

  names(): string[] {
    return [...this.#byName.keys()];
  }

  /** Lets in-flight requests finish, then closes the connections. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#byName.values()].map((u) => u.pool.close()));
  }

  /** Aborts everything in flight. */
  async destroy(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#byName.values()].map((u) => u.pool.destroy()));
  }
}
