/**
 * @module What the processes of one gateway share. With one process the gateway keeps all of it itself;
 * under `workers` the primary owns it and each worker reaches it over IPC (gateway/cluster-worker.ts). A
 * node with `cluster.redis` shares it with other nodes through Redis (gateway/redis-cluster.ts), its primary
 * holding that link for its workers.
 */
import type { Registry } from 'prom-client';
import type { ProcessLoad } from '../admin/api/traffic.js';
import type { Limiter } from '../tokens/rate-limiter.js';
import type { ReplicatedState } from './cluster-state.js';
import type { Config } from './config/schema.js';
import type { Logger } from './logger.js';
import type { RedisCluster } from './redis-cluster.js';
import type { TrafficView } from './traffic-buckets.js';
import type { TrafficHistory } from './traffic-history.js';

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
  /**
   * Only on a cluster replica (`cluster.replica`): the origin's state it serves instead of a store of its
   * own, and whether that state is too old to decide on (the send and admin planes fail closed then).
   */
  readonly replica?: ReplicaSource | undefined;
  /** Adds the metrics of what it holds (the Redis link's) to this process's registry. */
  registerMetrics?(registry: Registry): void;
  /**
   * This process's traffic history: its closed buckets go to whoever merges them (the primary), which
   * also asks for the bucket still filling, and this process's `load`, when the console reads.
   */
  shareTraffic?(history: TrafficHistory, load: () => ProcessLoad): void;
  /** The whole gateway's traffic (every process's buckets merged); absent = this process's own. */
  traffic?(): Promise<TrafficView>;
}

export interface ReplicaSource {
  /** The origin's state as last read; undefined before the first good read. */
  state(): ReplicatedState | undefined;
  /** Called with every new state. */
  onState(listener: (state: ReplicatedState) => void): void;
  /** No good read for cluster.maxStalenessMs (or none yet). */
  stale(): boolean;
  /** When the state was last confirmed current (epoch ms); 0 = never. */
  freshAt(): number;
}

/**
 * The Redis link of a node with `cluster.redis`, or undefined without it. The Redis code (and ioredis) is
 * imported only then, so a gateway that shares nothing does not load it.
 */
export async function connectSharedCluster(
  config: Config,
  logger: Logger,
): Promise<RedisCluster | undefined> {
  const { redis, maxStalenessMs, replica } = config.cluster;
  if (!redis) return undefined;
  const { connectCluster } = await import('./redis-cluster.js');
  const role = replica ? 'replica' : { origin: { dataDir: config.dataDir } };
  return connectCluster({ url: redis, maxStalenessMs, logger, role });
}
