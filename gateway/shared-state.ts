/**
 * @module What the processes of one gateway share. With one process the gateway keeps all of it itself;
 * under `workers` the primary owns it and each worker reaches it over IPC (gateway/cluster-worker.ts). A
 * node with `cluster.redis` shares it with other nodes through Redis (gateway/redis-cluster.ts), its primary
 * holding that link for its workers.
 */
import type { Registry } from 'prom-client';
import type { Limiter } from '../tokens/rate-limiter.js';
import type { Config } from './config/schema.js';
import type { Logger } from './logger.js';
import type { RedisCluster } from './redis-cluster.js';

export interface SharedState {
  /** Token rate limits and daily quotas, exact across every process (never N times the limit). */
  readonly limiter: Limiter;
  /** The TLS session ticket keys every process serves (48 bytes), so a session resumes anywhere. */
  readonly ticketKeys: Buffer;
  /** Called with the new keys whenever they rotate (on a CRL change, for every process at once). */
  onTicketKeys(listener: (keys: Buffer) => void): void;
  /** Reports the CRL this process now serves; a newer one rotates the shared ticket keys. */
  crlChanged(crlNumber: number): void;
  /** The whole gateway's Prometheus exposition (every process's metrics merged); absent = this process's own. */
  metrics?(): Promise<string>;
  /** Adds the metrics of what it holds (the Redis link's) to this process's registry. */
  registerMetrics?(registry: Registry): void;
}

/**
 * The Redis link of a node with `cluster.redis`, or undefined without it. The Redis code (and ioredis) is
 * imported only then, so a gateway that shares nothing does not load it.
 */
export async function connectSharedCluster(
  config: Config,
  logger: Logger,
): Promise<RedisCluster | undefined> {
  const { redis, maxStalenessMs } = config.cluster;
  if (!redis) return undefined;
  const { connectCluster } = await import('./redis-cluster.js');
  return connectCluster({ url: redis, maxStalenessMs, logger });
}
