/**
 * @module What every command receives: resolved global options and its output streams.
 */

import type { Config } from '../gateway/config/schema.js';

export interface CliContext {
  /** --data-dir, env MAILGATE_DATA_DIR, the config file's dataDir, default ./data (absolute). */
  dataDir: string;
  /** --config, env MAILGATE_CONFIG, default ./mailgate.yaml when present (undefined otherwise). */
  configPath: string | undefined;
  /** --json: write exactly one JSON document to stdout. */
  json: boolean;
  /** Environment the command may read (already the process env in production). */
  env: NodeJS.ProcessEnv;
  /** Machine-readable output (one JSON document with --json). */
  out: (text: string) => void;
  /** Binary stdout (`ca crl --der`); absent when stdout is a terminal, where bytes would garble it. */
  outBinary?: (bytes: Uint8Array) => void;
  /** Human-facing messages. */
  err: (text: string) => void;
  /** The validated configuration (loaded once, on first use). @throws ConfigError */
  config: () => Promise<Config>;
  /** Who runs this, for the audit trail: "cli:user@host". */
  actor: string;
}
