/**
 * @module A raw HTTP/2 client for hostile tests: frames are built byte by byte (Node's own client refuses
 * to send malformed ones), headers as HPACK literals without indexing.
 */
import { type TLSSocket, connect as tlsConnect } from 'node:tls';

export const FRAME = {
  DATA: 0,
  HEADERS: 1,
  PRIORITY: 2,
  RST_STREAM: 3,
  SETTINGS: 4,
  PUSH_PROMISE: 5,
  PING: 6,
  GOAWAY: 7,
  WINDOW_UPDATE: 8,
  CONTINUATION: 9,
} as const;

export const FLAG = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4, PADDED: 0x8, PRIORITY: 0x20 } as const;

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** One frame: 9-byte header (RFC 9113 §4.1) and payload. */
export function frame(
  type: number,
  flags: number,
  streamId: number,
  payload: Buffer = Buffer.alloc(0),
): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(streamId >>> 0, 5);
  return Buffer.concat([head, payload]);
}

/** RFC 7541 §5.1 integer with an N-bit prefix. */
function hpackInteger(value: number, prefixBits: number, firstByte = 0): number[] {
  const max = (1 << prefixBits) - 1;
  if (value < max) return [firstByte | value];
  const bytes = [firstByte | max];
  let rest = value - max;
  while (rest >= 128) {
    bytes.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  bytes.push(rest);
  return bytes;
}

function hpackString(text: string): Buffer {
  const bytes = Buffer.from(text, 'latin1');
  return Buffer.concat([Buffer.from(hpackInteger(bytes.length, 7)), bytes]);
}

/** A header block of literals without indexing (RFC 7541 §6.2.2), names sent as given (any case). */
export function headerBlock(headers: Array<[string, string]>): Buffer {
  return Buffer.concat(
    headers.flatMap(([name, value]) => [Buffer.from([0]), hpackString(name), hpackString(value)]),
  );
}

/** The pseudo-headers of a GET on the gateway. */
export function getHeaders(path = '/', extra: Array<[string, string]> = []): Array<[string, string]> {
  return [[':method', 'GET'], [':scheme', 'https'], [':authority', 'localhost'], [':path', path], ...extra];
}

/** The pseudo-headers of a POST on the gateway (its body's length unannounced unless `extra` says it). */
export function postHeaders(path = '/', extra: Array<[string, string]> = []): Array<[string, string]> {
  return [[':method', 'POST'], ...getHeaders(path, extra).slice(1)];
}

export function settings(entries: Array<[number, number]>): Buffer {
  const payload = Buffer.alloc(entries.length * 6);
  entries.forEach(([id, value], i) => {
    payload.writeUInt16BE(id, i * 6);
    payload.writeUInt32BE(value >>> 0, i * 6 + 2);
  });
  return frame(FRAME.SETTINGS, 0, 0, payload);
}

export function u32(value: number): Buffer {
  const buffer = Buffer.alloc(4);
  buffer.writeUInt32BE(value >>> 0);
  return buffer;
}

export interface ReceivedFrame {
  type: number;
  flags: number;
  streamId: number;
  payload: Buffer;
}

export interface RawH2Outcome {
  frames: ReceivedFrame[];
  /** The server closed the connection (or reset it) before answering the closing PING. */
  closed: boolean;
  /** Error code of the GOAWAY the server sent, if any. */
  goaway: number | undefined;
}

/** Opens TLS with ALPN h2 and sends the client preface plus an empty SETTINGS. */
export function openRawH2(port: number): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect(
      { host: '127.0.0.1', port, servername: 'localhost', ALPNProtocols: ['h2'], rejectUnauthorized: false },
      () => {
        socket.write(Buffer.concat([PREFACE, settings([])]));
        resolve(socket);
      },
    );
    socket.once('error', reject);
  });
}

/** Parses the frames `socket` receives and hands each to `listener`, in order. */
export function readFrames(socket: TLSSocket, listener: (frame: ReceivedFrame) => void): void {
  let buffered: Buffer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    while (buffered.length >= 9) {
      const length = buffered.readUIntBE(0, 3);
      if (buffered.length < 9 + length) break;
      listener({
        type: buffered[3]!,
        flags: buffered[4]!,
        streamId: buffered.readUInt32BE(5) & 0x7fffffff,
        payload: buffered.subarray(9, 9 + length),
      });
      buffered = buffered.subarray(9 + length);
    }
  });
}

/** The error code of a RST_STREAM or GOAWAY frame. */
export function errorCode(received: ReceivedFrame): number {
  return received.payload.readUInt32BE(received.type === FRAME.GOAWAY ? 4 : 0);
}

/**
 * Sends the preface and `frames`, then a PING: resolves once the server answered that PING (it has read
 * everything before it, frames being handled in order) or closed the connection.
 */
export async function sendRawH2(port: number, frames: Buffer[]): Promise<RawH2Outcome> {
  const socket = await openRawH2(port);
  return new Promise((resolve) => {
    const received: ReceivedFrame[] = [];
    let settled = false;
    const opaque = Buffer.from('mgping!!', 'latin1');
    const finish = (closed: boolean) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      const goaway = received.find((f) => f.type === FRAME.GOAWAY);
      resolve({ frames: received, closed, goaway: goaway && errorCode(goaway) });
    };
    readFrames(socket, (received1) => {
      received.push(received1);
      if (received1.type === FRAME.PING && received1.flags & FLAG.ACK && received1.payload.equals(opaque))
        finish(false);
    });
    socket.on('error', () => finish(true));
    socket.on('close', () => finish(true));
    // Writes may fail once the server has closed: the outcome then says so.
    socket.write(Buffer.concat([...frames, frame(FRAME.PING, 0, 0, opaque)]), () => {});
  });
}
