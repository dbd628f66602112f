/**
 * @module A real HTTP upstream for integration tests: records what it received and answers with it, plus
 * a few behaviours on special paths (slow, hanging, streaming) and a WebSocket echo.
 */
import { spawnSync } from 'node:child_process';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { closedOnCleanup } from './cleanup.js';

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface EchoUpstream {
  url: string;
  port: number;
  received: ReceivedRequest[];
  /** Resolves when the upstream has seen the first body chunk of the request on `/slow-upload`. */
  firstUploadChunk: Promise<void>;
  /** How many `/hang` requests saw their connection close (the gateway cancelled them). */
  hangsCancelled: () => number;
  /** How many of this upstream's sockets are in a TCP state (`ss`), e.g. `close-wait`: a leak shows here. */
  socketsIn: (state: string) => number;
  /** Lets `/slow-response` finish. */
  releaseSlowResponse: () => void;
  close: () => Promise<void>;
}

/**
 * Paths: `/hang` never answers; `/slow-response` sends a first chunk then waits for releaseSlowResponse();
 * `/slow-upload` answers once the whole body has arrived; `/big` sends 1 MiB; anything else echoes JSON.
 */
export async function startEchoUpstream(): Promise<EchoUpstream> {
  const received: ReceivedRequest[] = [];
  let hangsCancelled = 0;
  let markFirstChunk!: () => void;
  const firstUploadChunk = new Promise<void>((resolve) => {
    markFirstChunk = resolve;
  });
  let release!: () => void;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  // Large enough for the gateway's own header limit (limits.maxHeaderBytes, 32 KiB by default) to decide.
  const server: Server = createServer({ maxHeaderSize: 65_536 }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => {
      if (chunks.length === 0 && req.url === '/slow-upload') markFirstChunk();
      chunks.push(chunk);
    });
    req.on('end', () => {
      const entry = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      };
      received.push(entry);
      if (req.url === '/hang') {
        res.on('close', () => hangsCancelled++);
        return;
      }
      if (req.url === '/slow-response') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('first-chunk\n');
        released.then(() => res.end('last-chunk\n'));
        return;
      }
      if (req.url === '/big') {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        res.end(Buffer.alloc(1024 * 1024, 'x'));
        return;
      }
      res.writeHead(200, {
        'content-type': 'application/json',
        connection: 'keep-alive',
        'keep-alive': 'timeout=5',
        'x-upstream': 'echo',
      });
      res.end(JSON.stringify(entry));
    });
  });
  const wss = new WebSocketServer({ server });
  wss.on('connection', (socket, req) => {
    received.push({ method: 'GET', url: req.url ?? '', headers: req.headers, body: '' });
    socket.on('message', (data) => socket.send(`echo:${data.toString()}`));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    received,
    hangsCancelled: () => hangsCancelled,
    socketsIn: (state) =>
      spawnSync('ss', ['-tanH', 'state', state, `( sport = :${port} )`], { encoding: 'utf8' })
        .stdout.split('\n')
        .filter(Boolean).length,
    firstUploadChunk,
    releaseSlowResponse: release,
    close: closedOnCleanup(
      () =>
        new Promise<void>((resolve) => {
          release();
          for (const client of wss.clients) client.terminate();
          wss.close();
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    ),
  };
}
