/**
 * @module One undici keep-alive Pool per configured upstream, with an explicit lifecycle.
 */
import { Pool } from 'undici';
import { ClosedError } from '../lib/errors.js';
import type { UpstreamConfig } from './config/schema.js';

export interface Upstream {
  name: string;
  pool: Pool;
  /** Budget for response headers and for body idle time, ms. */
  timeoutMs: number;
}

export class Upstreams {
  readonly #byName = new Map<string, Upstream>();
  #closed = false;

  constructor(configs: Record<string, UpstreamConfig>) {
    for (const [name, config] of Object.entries(configs)) {
      const pool = new Pool(new URL(config.url).origin, {
        connections: config.connections,
        connect: { timeout: config.connectTimeoutMs },
        headersTimeout: config.timeoutMs,
        bodyTimeout: config.timeoutMs,
        keepAliveTimeout: 30_000,
        // Pipelining would let one slow ActiveSync request stall the ones queued behind it.
        pipelining: 1,
      });
      this.#byName.set(name, { name, pool, timeoutMs: config.timeoutMs });
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
