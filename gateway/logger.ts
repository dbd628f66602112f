/**
 * @module The pino logger: JSON lines on stdout, buffered, secrets redacted (DESIGN.md rule 7).
 */
import { type Logger, pino } from 'pino';

export type { Logger } from 'pino';

/** Header and field paths that never reach the log. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'headers.authorization',
  'headers.cookie',
  'headers["x-api-key"]',
  'authorization',
  'cookie',
  '["x-api-key"]',
];

export interface LoggerOptions {
  level?: string;
  /** File descriptor or path; stdout by default. */
  destination?: number | string;
}

/** Buffered lines reach the log at least this often, so a quiet gateway's lines are not held back. */
const FLUSH_INTERVAL_MS = 200;

/**
 * Creates the logger. Writes are buffered (async, 4 KiB) so that an access line per request costs no syscall;
 * a timer flushes the buffer every 200 ms; call `logger.flush()` before exit.
 */
export function createLogger({ level = 'info', destination = 1 }: LoggerOptions = {}): Logger {
  const stream = pino.destination({ dest: destination, sync: false, minLength: 4096 });
  setInterval(() => stream.flush(), FLUSH_INTERVAL_MS).unref();
  return pino(
    {
      level,
      base: { service: 'mailgate' },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    stream,
  );
}
