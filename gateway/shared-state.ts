/**
 * @module What the processes of one gateway share. With one process the gateway keeps all of it itself;
 * under `workers` the primary owns it and each worker reaches it over IPC (gateway/cluster-worker.ts). A
 * Redis-backed implementation for several hosts slots in behind the same interface.
 */
import type { Limiter } from '../tokens/rate-limiter.js';

export interface SharedState {
  /** Token rate limits and daily quotas, exact across every process (never N times the limit). */
  readonly limiter: Limiter;
  /** The TLS session ticket keys every process serves (48 bytes), so a session resumes anywhere. */
  readonly ticketKeys: Buffer;
  /** Called with the new keys whenever they rotate (on a CRL change, for every process at once). */
  onTicketKeys(listener: (keys: Buffer) => void): void;
  /** Reports the CRL this process now serves; a newer one rotates the shared ticket keys. */
  crlChanged(crlNumber: number): void;
  /** The whole gateway's Prometheus exposition (every process's metrics merged). */
  metrics(): Promise<string>;
}
