/**
 * @module The pino logger: JSON lines on stdout, buffered, secrets redacted (docs/security.md rule 7).
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
  /** Under `workers`: this worker's number; every line then names it and its pid. */
  worker?: number;
}

/** Buffered lines reach the log at least this often, so a quiet gateway's lines are not held back. */
const FLUSH_INTERVAL_MS = 100;
/** Lines are handed to the file stream in chunks of this many bytes at most (a longer line goes alone). */
const CHUNK_BYTES = 16_384;
/** UTF-8 takes at most 3 bytes per UTF-16 code unit: a line of n code units fits in 3n bytes. */
const MAX_BYTES_PER_UNIT = 3;

interface ChunkSink {
  write: (chunk: Buffer) => void;
  flush: (cb?: (error?: Error) => void) => void;
}

/**
 * Encodes each log line into a chunk buffer as it comes and hands sonic-boom whole chunks. Each line is
 * encoded once, while it is small and fresh; joining lines into one string first made sonic-boom flatten
 * and measure a 16 KB rope per chunk, which cost about half a microsecond per line. Every line (pino's and
 * the access lines) goes through here, so their order is kept.
 */
class LineBatcher {
  readonly #sink: ChunkSink;
  #chunk = Buffer.allocUnsafe(CHUNK_BYTES);
  #length = 0;

  constructor(sink: ChunkSink) {
    this.#sink = sink;
  }

  write(line: string): void {
    const maxBytes = line.length * MAX_BYTES_PER_UNIT;
    if (this.#length + maxBytes > CHUNK_BYTES) {
      this.#handOver();
      if (maxBytes > CHUNK_BYTES) {
        this.#sink.write(Buffer.from(line));
        return;
      }
    }
    this.#length += this.#chunk.write(line, this.#length);
  }

  /** The sink keeps the chunk (sonic-boom holds it while a write is retried): lines go into a new one. */
  #handOver() {
    if (this.#length === 0) return;
    const chunk = this.#chunk.subarray(0, this.#length);
    this.#chunk = Buffer.allocUnsafe(CHUNK_BYTES);
    this.#length = 0;
    this.#sink.write(chunk);
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
 * about a microsecond per request line. A log reader that stops reading then holds the gateway up instead
 * of growing its memory without bound.
 */
export function createLogger({ level = 'info', destination = 1, worker }: LoggerOptions = {}): Logger {
  const file = pino.destination({ dest: destination, sync: true, contentMode: 'buffer' });
  // In 'buffer' content mode sonic-boom writes Buffers; its typings only know strings.
  const batcher = new LineBatcher(file as unknown as ChunkSink);
  setInterval(() => batcher.flush(), FLUSH_INTERVAL_MS).unref();
  return pino(
    {
      level,
      base:
        worker === undefined ? { service: 'mailgate' } : { service: 'mailgate', worker, pid: process.pid },
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
  const internals = logger as unknown as Record<symbol, unknown>;
  const stream = internals[pino.symbols.streamSym] as { write: (line: string) => void };
  // The base fields as pino renders them: `,"service":"mailgate"` (plus worker and pid under workers).
  const base = internals[pino.symbols.chindingsSym] as string;
  return function writeAccessLine(members) {
    if (!logger.isLevelEnabled('info')) return;
    stream.write(`{"level":"info","time":${Date.now()}${base},"msg":"request",${members}}\n`);
  };
}
