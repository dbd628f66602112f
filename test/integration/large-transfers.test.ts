/**
 * 1 GiB up and down through a real `mailgate serve` process, generated on the fly on both sides (nothing
 * on disk), with the gateway's resident memory sampled from /proc while the bytes stream.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect as h2connect } from 'node:http2';
import { Agent, request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServeProcess, startServe } from '../helpers/serve-process.js';
import { tempDir } from '../helpers/temp-store.js';

const GIB = 1024 ** 3;
const MB = 1024 * 1024;
/** A pattern whose length does not divide the chunk sizes TLS and h2 use, so a lost or repeated chunk shows. */
const PATTERN = Buffer.from(Array.from({ length: 65_521 }, (_, i) => (i * 7 + 13) & 0xff));

/** `total` bytes of PATTERN, repeated, produced as they are read. */
function patternStream(total: number): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= total) {
        this.push(null);
        return;
      }
      const chunk = PATTERN.subarray(0, Math.min(PATTERN.length, total - sent));
      sent += chunk.length;
      this.push(chunk);
    },
  });
}

/** Counts bytes and checks each against PATTERN at its offset. */
class PatternCheck {
  bytes = 0;
  intact = true;
  add(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length) {
      const at = this.bytes % PATTERN.length;
      const length = Math.min(PATTERN.length - at, chunk.length - offset);
      if (!chunk.subarray(offset, offset + length).equals(PATTERN.subarray(at, at + length)))
        this.intact = false;
      offset += length;
      this.bytes += length;
    }
  }
}

/** Samples a process's resident set size (VmRSS) until stopped; returns the peak, in bytes. */
function sampleRss(pid: number): { stop: () => number; now: () => number } {
  const read = () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;
  let peak = read();
  const timer = setInterval(() => {
    peak = Math.max(peak, read());
  }, 50);
  return {
    now: read,
    stop: () => {
      clearInterval(timer);
      return Math.max(peak, read());
    },
  };
}

let upstream: Server;
let serve: ServeProcess;
let lastUpload: PatternCheck | undefined;
const agent = new Agent({ keepAlive: true, rejectUnauthorized: false, servername: 'localhost' });

beforeAll(async () => {
  upstream = createServer((req, res) => {
    const size = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('bytes'));
    if (req.url?.startsWith('/download')) {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size });
      patternStream(size).pipe(res);
      return;
    }
    const check = new PatternCheck();
    lastUpload = check;
    req.on('data', (chunk: Buffer) => check.add(chunk));
    req.on('end', () => res.end(JSON.stringify({ bytes: check.bytes, intact: check.intact })));
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const root = tempDir('mailgate-large-');
  writeFileSync(
    join(root, 'mailgate.yaml'),
    `publicUrl: https://localhost\nlisten:\n  https: { host: 127.0.0.1, port: 0 }\nlog: { level: warn }\nupstreams:\n  app: { url: 'http://127.0.0.1:${(upstream.address() as AddressInfo).port}' }\nroutes:\n  - { path: /, upstream: app, auth: public }\n`,
  );
  serve = await startServe([], { cwd: root });
}, 30_000);

afterAll(async () => {
  agent.destroy();
  await serve?.stop();
  upstream?.closeAllConnections();
  await new Promise((resolve) => upstream?.close(resolve));
});

function download(bytes: number): Promise<PatternCheck> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      { host: '127.0.0.1', port: serve.port, path: `/download?bytes=${bytes}`, agent },
      (res) => {
        const check = new PatternCheck();
        res.on('data', (chunk: Buffer) => check.add(chunk));
        res.on('end', () => resolve(check));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

function upload(bytes: number): Promise<{ bytes: number; intact: boolean }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port: serve.port,
        path: `/upload?bytes=${bytes}`,
        method: 'PUT',
        agent,
        headers: { 'content-length': bytes },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => resolve(JSON.parse(text)));
      },
    );
    req.on('error', reject);
    patternStream(bytes).pipe(req);
  });
}

function downloadH2(bytes: number): Promise<PatternCheck> {
  return new Promise((resolve, reject) => {
    const session = h2connect(`https://127.0.0.1:${serve.port}`, {
      servername: 'localhost',
      rejectUnauthorized: false,
    });
    session.on('error', reject);
    const stream = session.request({ ':path': `/download?bytes=${bytes}`, ':authority': 'localhost' });
    const check = new PatternCheck();
    stream.on('data', (chunk: Buffer) => check.add(chunk));
    stream.on('end', () => {
      session.close();
      resolve(check);
    });
    stream.on('error', reject);
  });
}

describe('1 GiB through the gateway process', () => {
  it('streams up and down (HTTP/1.1) and down (h2) intact while its memory stays flat (< 50 MB growth)', async () => {
    // Warm up: TLS, pools, JIT and buffers reach their working size before the baseline is taken.
    expect((await download(16 * MB)).intact).toBe(true);
    expect(await upload(16 * MB)).toEqual({ bytes: 16 * MB, intact: true });
    expect((await downloadH2(16 * MB)).intact).toBe(true);
    const rss = sampleRss(serve.child.pid!);
    const baseline = rss.now();

    const down = await download(GIB);
    expect(down.bytes).toBe(GIB);
    expect(down.intact).toBe(true);
    expect(await upload(GIB)).toEqual({ bytes: GIB, intact: true });
    expect(lastUpload?.bytes).toBe(GIB);
    const downH2 = await downloadH2(GIB);
    expect(downH2.bytes).toBe(GIB);
    expect(downH2.intact).toBe(true);

    const growth = rss.stop() - baseline;
    expect(growth, `gateway RSS grew by ${(growth / MB).toFixed(1)} MB`).toBeLessThan(50 * MB);
  }, 600_000);
});
