/**
 * @module What the admin API is built from: its store connection, the data dir, the configuration and
 * what only the running gateway knows. Every endpoint module reads its part of these.
 */
import type { Database } from '../../store/database.js';
import type { AdminStatus } from './status.js';
import type { TrafficReport } from './traffic.js';

/**
 * The configuration values the admin API and console read: the CA's bounds, the issuer and audience of
 * issued tokens, and where the server certificate comes from.
 */
export interface AdminConfig {
  /** The gateway's own origin: the issuer of tokens and the base of links handed out. */
  publicUrl: string;
  ca: { clientDays: number; maxDays: number; crlDays: number };
  tokens: { audience: string };
  /** 'auto' (issued by the CA into the data dir) or the certificate file's path. */
  tls: { cert: string };
}

export interface AdminApiOptions {
  /**
   * A connection of its own to the store (openDatabase(dataDir)), not the gateway's: the gateway notices
   * revocations through `PRAGMA data_version`, which moves only for commits of other connections.
   */
  db: Database;
  /** The data dir holding the CA (keys are read from it to sign; the CRL is written to it). */
  dataDir: string;
  /** The validated configuration's values the admin reads (the gateway passes its whole Config). */
  config: AdminConfig;
  /** What only the running gateway knows (upstream health), read on each /status call. */
  status: () => AdminStatus;
  /** The last hour of traffic of the whole gateway, up to now (every worker's, under `workers`). */
  traffic: () => Promise<TrafficReport>;
}
