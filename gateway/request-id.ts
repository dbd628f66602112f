/**
 * @module Request ids (X-Request-Id, access lines, error bodies): UUID-shaped and unique per process.
 */
import { randomBytes, randomUUID } from 'node:crypto';

const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));
/** The first four groups of a random UUID: 80 random bits (version and variant included) per process. */
const PROCESS_PART = randomUUID().slice(0, 24);

/** The last group is a 48-bit counter from a random start, kept as 16 high and 32 low bits (int32 math). */
const start = randomBytes(6);
let high = start.readUInt16BE(0);
let low = start.readUInt32BE(2);
let prefix = PROCESS_PART + HEX[high >>> 8]! + HEX[high & 0xff]!;

/**
 * The next request id. A counter instead of randomUUID() per request, which cost about 0.4 µs (entropy
 * refills, serialisation); ids need to be unique, not secret. Bytes go through a table: Number#toString(16)
 * is slower still.
 */
export function nextRequestId(): string {
  low = (low + 1) >>> 0;
  if (low === 0) {
    high = (high + 1) & 0xffff;
    prefix = PROCESS_PART + HEX[high >>> 8]! + HEX[high & 0xff]!;
  }
  return prefix + HEX[low >>> 24]! + HEX[(low >>> 16) & 0xff]! + HEX[(low >>> 8) & 0xff]! + HEX[low & 0xff]!;
}
