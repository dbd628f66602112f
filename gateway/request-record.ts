/**
 * @module One record per request: created at the start, written once at the end as the access line and
 * the request metrics; denials also get their own line and counter.
 */
import { createAccessLineWriter, type Logger } from './logger.js';
import type { GatewayMetrics } from './metrics.js';
import type { Plane } from './plane-guard.js';
import type { GatewayResponse, UpstreamFailure } from './proxy.js';
import { nextRequestId } from './request-id.js';

/** What the access line and the metrics say about one request. */
export interface RequestRecord {
  id: string;
  start: number;
  method: string;
  path: string;
  route: string;
  plane: Plane | 'reserved' | 'none';
  client: string;
  /** The key `client` counts under in the per-address limits (limit-key.ts); '' before resolveRequest. */
  limitKey: string;
  principal?: string | undefined;
  upstream?: string | undefined;
  bytes: number;
  denied?: string | undefined;
  failure?: UpstreamFailure | undefined;
}

export function newRequestRecord(method: string | undefined): RequestRecord {
  return {
    id: nextRequestId(),
    start: performance.now(),
    method: method ?? 'GET',
    path: '',
    route: 'none',
    plane: 'none',
    client: '',
    limitKey: '',
    bytes: 0,
  };
}

type BodyWriter = { write: (...args: unknown[]) => boolean; end: (...args: unknown[]) => unknown };

function chunkBytes(chunk: unknown, encoding: unknown): number {
  if (typeof chunk === 'string')
    return Buffer.byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
  return chunk instanceof Uint8Array ? chunk.byteLength : 0;
}

/**
 * Counts what the reserved-path app writes into `record.bytes`: its node adapter does not always set a
 * Content-Length header to read back. Proxied bodies are counted by the relay as they stream, so proxied
 * responses are never wrapped.
 */
export function countReservedBody(res: GatewayResponse, record: RequestRecord): void {
  // A HEAD response has no body (RFC 9110 §9.3.2): Node drops what is written.
  if (record.method === 'HEAD') return;
  const out = res as unknown as BodyWriter;
  const { write, end } = out;
  // h2's end(chunk) calls this.write(chunk); HTTP/1.1's does not: count the chunk once either way.
  let ending = false;
  out.write = function countedWrite(this: unknown, ...args: unknown[]) {
    if (!ending) record.bytes += chunkBytes(args[0], args[1]);
    return write.apply(this, args);
  };
  out.end = function countedEnd(this: unknown, ...args: unknown[]) {
    record.bytes += chunkBytes(args[0], args[1]);
    ending = true;
    try {
      return end.apply(this, args);
    } finally {
      ending = false;
    }
  };
}

/** Characters a JSON string literal escapes, and non-ASCII (lone surrogates need escaping too). */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\u007f-\uffff]/;

/** A JSON string literal: the regex test costs less than JSON.stringify, and almost no value needs it. */
function json(value: string): string {
  return NEEDS_ESCAPE.test(value) ? JSON.stringify(value) : `"${value}"`;
}

/**
 * The access line's fields as JSON members, in a fixed order; absent ones are left out. Rendered field by
 * field: one JSON.stringify of a 14-key object per request cost more than the whole rest of the line.
 */
export function accessLineMembers(
  record: RequestRecord,
  status: number,
  ms: number,
  completed: boolean,
): string {
  // The id is one the gateway made itself (hex and dashes); the plane one of a fixed set.
  let members = `"reqId":"${record.id}","method":${json(record.method)},"route":${json(record.route)},"path":${json(record.path)},"status":${status},"ms":${ms},"plane":"${record.plane}","client":${json(record.client)}`;
  if (record.principal !== undefined) members += `,"principal":${json(record.principal)}`;
  if (record.upstream !== undefined) members += `,"upstream":${json(record.upstream)}`;
  members += `,"bytes":${record.bytes}`;
  if (record.denied !== undefined) members += `,"denied":${json(record.denied)}`;
  if (record.failure !== undefined) members += `,"failure":"${record.failure}"`;
  if (!completed) members += ',"aborted":true';
  return members;
}

/** Writes access lines, denial lines and the request metrics. */
export class AccessRecorder {
  readonly #logger: Logger;
  readonly #metrics: GatewayMetrics;
  readonly #writeAccessLine: (members: string) => void;

  constructor(logger: Logger, metrics: GatewayMetrics) {
    this.#logger = logger;
    this.#metrics = metrics;
    this.#writeAccessLine = createAccessLineWriter(logger);
  }

  /** The one access line; `status` 499 when the client went away before a response. */
  finish(record: RequestRecord, status: number, completed: boolean): void {
    const seconds = (performance.now() - record.start) / 1000;
    this.#metrics.observeRequest(record.route, record.method, status, record.plane, seconds);
    this.#writeAccessLine(accessLineMembers(record, status, Math.round(seconds * 10_000) / 10, completed));
  }

  /** A security decision that refused something. */
  denied(record: RequestRecord, reason: string): void {
    record.denied = reason;
    this.#metrics.authDenied.inc({ plane: record.plane, reason });
    this.#logger.warn(
      {
        reqId: record.id,
        plane: record.plane,
        reason,
        client: record.client,
        path: record.path,
        principal: record.principal,
      },
      'denied',
    );
  }

  upstreamFailed(record: RequestRecord, upstream: string, kind: UpstreamFailure, error: unknown): void {
    record.failure = kind;
    this.#metrics.upstreamErrors.inc({ upstream, kind });
    if (kind !== 'aborted')
      this.#logger.warn(
        { reqId: record.id, upstream, kind, err: (error as Error)?.message },
        'upstream failed',
      );
  }
}
