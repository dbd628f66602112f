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
const FLUSH_INTERVAL_MS = 100;
/** Lines are handed to the file stream in chunks of about this many characters. */
const BATCH_CHARS = 16_000;

interface LineSink {
  write: (text: string) => void;
  flush: (cb?: (error?: Error) => void) => void;
}

/**
 * Collects whole log lines and hands them to sonic-boom in ~16 KB chunks. sonic-boom measures the byte
 * length of its pending buffer on every write, which at one write per request line costs microseconds;
 * one write per chunk costs nothing per line. Every line (pino's and the access lines) goes through
 * here, so their order is kept.
 */
class LineBatcher {
  readonly #sink: LineSink;
  #pending = '';

  constructor(sink: LineSink) {
    this.#sink = sink;
  }

  write(line: string): void {
    this.#pending += line;
    if (this.#pending.length >= BATCH_CHARS) this.#handOver();
  }

  #handOver() {
    if (this.#pending === '') return;
    const text = this.#pending;
    this.#pending = '';
    this.#sink.write(text);
  }

  /** Hands everything to the sink and asks it to write out (pino's `logger.flush(cb)` calls this). */
  flush(cb?: (error?: Error) => void): void {
    this.#handOver();
    this.#sink.flush(cb);
  }
}

/**
 * Creates the logger: JSON lines, batched (see LineBatcher) into a sonic-boom stream, flushed at least
 * every 100 ms; call `logger.flush()` before exit.
 *
 * Each ~16 KB chunk is written synchronously, as pino and Node's own stdout do on Linux: an async write
 * hands every chunk to libuv's thread pool, whose wake-up and thread switch on the gateway's core cost
 * about a microsecond per request line, and sonic-boom encodes an async string chunk twice. A log reader
 * that stops reading then holds the gateway up instead of growing its memory without bound.
 */
export function createLogger({ level = 'info', destination = 1 }: LoggerOptions = {}): Logger {
  const batcher = new LineBatcher(pino.destination({ dest: destination, sync: true }));
  setInterval(() => batcher.flush(), FLUSH_INTERVAL_MS).unref();
  return pino(
    {
      level,
      base: { service: 'mailgate' },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    batcher,
  );
}

/**
 * A writer for the per-request access line: the same JSON shape pino writes (level, time, service, msg),
 * with the request's fields already rendered as JSON members (`"reqId":"…","status":200,…`), straight into
 * the logger's line batcher. The access line is the one log call on every request; pino's generic path
 * costs more per line. Its fields never hold headers, so redaction does not apply.
 */
export function createAccessLineWriter(logger: Logger): (members: string) => void {
  const stream = (logger as unknown as Record<symbol, { write: (line: string) => void }>)[
    pino.symbols.streamSym
  ]!;
  return function writeAccessLine(members) {
    if (!logger.isLevelEnabled('info')) return;
    stream.write(`{"level":"info","time":${Date.now()},"service":"mailgate","msg":"request",${members}}\n`);
  };
}
