/**
 * @module What the admin API is built from: its store connection, the data dir, the configuration and
 * what only the running gateway knows. Every endpoint module reads its part of these.
 */
import type { Config } from '../../gateway/config/schema.js';
import type { Database } from '../../store/database.js';
import type { AdminStatus } from './status.js';

export interface AdminApiOptions {
  /**
   * A connection of its own to the store (openDatabase(dataDir)), not the gateway's: the gateway notices
   * revocations through `PRAGMA data_version`, which moves only for commits of other connections.
   */
  db: Database;
  /** The data dir holding the CA (keys are read from it to sign; the CRL is written to it). */
  dataDir: string;
  /** Validated configuration: ca.* bounds, publicUrl and tokens.audience for issued tokens, tls.cert. */
  config: Config;
  /** What only the running gateway knows (upstream health), read on each /status call. */
  status: () => AdminStatus;
}
