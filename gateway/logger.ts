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
 * Creates the logger. Writes are buffered (async, 12 KiB) so that an access line per request costs no syscall;
 * a timer flushes the buffer every 200 ms; call `logger.flush()` before exit.
 */
export function createLogger({ level = 'info', destination = 1 }: LoggerOptions = {}): Logger {
  const stream = pino.destination({ dest: destination, sync: false, minLength: 12_288 });
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

/**
 * A writer for the per-request access line: the same JSON shape pino writes (level, time, service, msg),
 * rendered with one JSON.stringify and handed to pino's stream once per event-loop turn for all the lines
 * of that turn. The access line is the one log call on every request, and a stream write per line costs
 * more than rendering it. Its fields never hold headers, so redaction does not apply.
 */
export function createAccessLineWriter(logger: Logger): (fields: Record<string, unknown>) => void {
  const stream = (logger as unknown as Record<symbol, { write: (line: string) => void }>)[
    pino.symbols.streamSym
  ]!;
  let batch = '';
  const flush = () => {
    const lines = batch;
    batch = '';
    stream.write(lines);
  };
  return function writeAccessLine(fields) {
    if (!logger.isLevelEnabled('info')) return;
    if (batch === '') setImmediate(flush);
    batch += `{"level":"info","time":${Date.now()},"service":"mailgate","msg":"request",${JSON.stringify(fields).slice(1)}\n`;
  };
}
