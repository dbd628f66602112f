/**
 * @module Starts a real gateway in-process (real TLS on an ephemeral port, temp data dir) and offers
 * real clients: raw HTTP/1.1 over TLS (request targets sent byte for byte), h2, and undici.
 */
import { readFileSync } from 'node:fs';
import {
  type ClientHttp2Session,
  type IncomingHttpHeaders as H2Headers,
  connect as h2connect,
} from 'node:http2';
import { join } from 'node:path';
import { type ConnectionOptions, type TLSSocket, connect as tlsConnect } from 'node:tls';
import { issueClientCertificate } from '../../certs/issue-client.js';
import type { ClientRole } from '../../certs/rules.js';
import { type Config, configSchema } from '../../gateway/config/schema.js';
import { Gateway } from '../../gateway/gateway.js';
import { createLogger } from '../../gateway/logger.js';
import { closedOnCleanup } from './cleanup.js';
import { type EchoUpstream, startEchoUpstream } from './echo-upstream.js';
import { eventually } from './eventually.js';
import { tempDir, withDatabase } from './temp-store.js';

export interface TestGateway {
  gateway: Gateway;
  port: number;
  url: string;
  root: string;
  dataDir: string;
  config: Config;
  caPem: string;
  logPath: string;
  /**
   * The log lines written so far, parsed; with `until`, waits for a line that contains it (the access line
   * is written when the response closes, which may be after the client has read it) and throws at the
   * deadline of `eventually`.
   */
  logLines: (until?: string) => Promise<Array<Record<string, unknown>>>;
  close: () => Promise<void>;
}

/**
 * @param raw config keys (upstreams and routes at least); listen.https defaults to 127.0.0.1:0.
 */
export async function startTestGateway(raw: Record<string, unknown>, dataDir?: string): Promise<TestGateway> {
  // Removed even when the gateway does not start (registered first, so it runs after close).
  const root = tempDir('mailgate-gw-');
  const config = configSchema.parse({
    publicUrl: 'https://localhost',
    listen: { https: { host: '127.0.0.1', port: 0 } },
    drainTimeoutMs: 2_000,
    ...raw,
    dataDir: dataDir ?? join(root, 'data'),
  });
  const logPath = join(root, 'gateway.log');
  const logger = createLogger({ level: 'info', destination: logPath });
  const gateway = await Gateway.start({ config, logger });
  const port = gateway.addresses.https.port;
  return {
    gateway,
    port,
    url: `https://127.0.0.1:${port}`,
    root,
    dataDir: config.dataDir,
    config,
    caPem: readFileSync(join(config.dataDir, 'ca', 'ca.crt.pem'), 'utf8'),
    logPath,
    logLines: (until) =>
      eventually(async () => {
        await new Promise((resolve) => logger.flush(resolve));
        const written = readFileSync(logPath, 'utf8');
        // Whole lines only: the file may be read between two writes of one batch.
        const text = written.slice(0, written.lastIndexOf('\n') + 1);
        if (until !== undefined && !text.includes(until))
          throw new Error(`no log line contains ${JSON.stringify(until)} (${logPath})`);
        return text
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line) as Record<string, unknown>);
      }),
    close: closedOnCleanup(async () => {
      await gateway.close(500);
      logger.flush();
    }),
  };
}

/** The admin's address in tests: the one address of ADMIN_PLANE's admin.sourceCidrs; 127.0.0.1 is outside. */
export const ADMIN_ADDRESS = '127.0.0.2';

/** Config keys of an admin plane reachable from ADMIN_ADDRESS only, with its own listener beside the public one. */
export const ADMIN_PLANE = {
  admin: { sourceCidrs: [`${ADMIN_ADDRESS}/32`] },
  listen: { https: { host: '127.0.0.1', port: 0 }, admin: { host: '127.0.0.1', port: 0 } },
};

export interface EchoGateway extends TestGateway {
  echo: EchoUpstream;
}

/**
 * A gateway in front of a fresh echo upstream named `app`, by default on one public route `/`; `raw` adds
 * or replaces config keys (routes too). Both stop by their own cleanup.
 * @example const gw = await startEchoGateway({ ...ADMIN_PLANE, routes: [{ path: '/admin', upstream: 'app', auth: 'admin' }] })
 */
export async function startEchoGateway(raw: Record<string, unknown> = {}): Promise<EchoGateway> {
  const echo = await startEchoUpstream();
  const gw = await startTestGateway({
    upstreams: { app: { url: echo.url } },
    routes: [{ path: '/', upstream: 'app', auth: 'public' }],
    ...raw,
  });
  return { ...gw, echo };
}

export interface TestCredential {
  serial: string;
  cert: string;
  key: string;
  notAfter: number;
  /** Trusts the gateway's CA and presents this certificate, from `localAddress`. */
  tls: ConnectionOptions;
}

/** Issues a client certificate in the gateway's store, presented from ADMIN_ADDRESS unless told otherwise. */
export async function issueTestCertificate(
  gw: TestGateway,
  name: string,
  role: ClientRole,
  {
    days = 30,
    now,
    localAddress = ADMIN_ADDRESS,
  }: { days?: number; now?: number; localAddress?: string } = {},
): Promise<TestCredential> {
  const issued = await withDatabase(gw.dataDir, (db) =>
    issueClientCertificate(db, gw.dataDir, {
      name,
      role,
      days,
      actor: 'test',
      email: undefined,
      ...(now !== undefined && { now }),
    }),
  );
  return {
    serial: issued.serial,
    cert: issued.certPem,
    key: issued.keyPem,
    notAfter: issued.notAfter,
    tls: { ca: gw.caPem, localAddress, cert: issued.certPem, key: issued.keyPem } as ConnectionOptions,
  };
}

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  raw: string;
  /** Whether the TLS handshake resumed a session (given as `session` in the tls options). */
  reused?: boolean;
  /** The last session ticket the server sent, to resume with later. */
  session?: Buffer;
}

/** Parses one HTTP/1.1 response from text (Connection: close framing). */
function parseResponse(raw: string): RawResponse {
  const end = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, end === -1 ? raw.length : end).split('\r\n');
  const status = Number(head[0]?.split(' ')[1] ?? 0);
  const headers: Record<string, string> = {};
  for (const line of head.slice(1)) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  let body = end === -1 ? '' : raw.slice(end + 4);
  if (headers['transfer-encoding'] === 'chunked') {
    let decoded = '';
    let rest = body;
    for (;;) {
      const lineEnd = rest.indexOf('\r\n');
      const size = Number.parseInt(rest.slice(0, lineEnd), 16);
      if (!size) break;
      decoded += rest.slice(lineEnd + 2, lineEnd + 2 + size);
      rest = rest.slice(lineEnd + 2 + size + 2);
    }
    body = decoded;
  }
  return { status, headers, body, raw };
}

/**
 * TLS options binding the client socket to `localAddress` (any 127/8 address is this machine; an IPv6 one
 * added to lo, test/helpers/loopback-addresses.ts, connects to a gateway on ::1): net.connect's option,
 * which tls passes on though its types leave it out.
 * @example rawGet(gw.port, '/', {}, fromAddress('127.0.0.2'))
 */
export const fromAddress = (localAddress: string) =>
  ({ localAddress, ...(localAddress.includes(':') && { host: '::1' }) }) as ConnectionOptions;

/**
 * A TLS connection to the gateway speaking HTTP/1.1 (ALPN), for requests written byte by byte; `tls` adds
 * to or replaces the options (a client certificate, a CA to verify against).
 */
export function openRawH1(port: number, tls: ConnectionOptions = {}): TLSSocket {
  return tlsConnect({
    host: '127.0.0.1',
    port,
    servername: 'localhost',
    ALPNProtocols: ['http/1.1'],
    rejectUnauthorized: false,
    ...tls,
  });
}

/**
 * Sends `request` (a whole HTTP/1.1 request, sent as is) over TLS and reads until the server closes.
 * @example rawRequest(port, 'GET //admin HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n', { ca })
 */
export function rawRequest(port: number, request: string, tls: ConnectionOptions = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    let reused = false;
    let session: Buffer | undefined;
    const socket = openRawH1(port, tls);
    socket.once('secureConnect', () => {
      reused = socket.isSessionReused();
      socket.write(request);
    });
    // A connection nobody answers (e.g. handed to a worker as it died) fails instead of hanging the test.
    socket.setTimeout(10_000, () => socket.destroy(new Error('no answer in 10 s')));
    socket.on('session', (ticket: Buffer) => {
      session = ticket;
    });
    let raw = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      raw += chunk;
    });
    socket.on('error', reject);
    socket.on('close', () => resolve({ ...parseResponse(raw), reused, session }));
  });
}

/** A GET with a raw request target, Connection: close. */
export function rawGet(
  port: number,
  target: string,
  headers: Record<string, string> = {},
  tls: ConnectionOptions = {},
) {
  const lines = Object.entries({ host: 'localhost', ...headers })
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  return rawRequest(port, `GET ${target} HTTP/1.1\r\n${lines}connection: close\r\n\r\n`, tls);
}

export interface H2Response {
  status: number;
  headers: H2Headers;
  body: string;
  /** The informational (1xx) header blocks received before the response, in order. */
  informational: H2Headers[];
}

/** One h2 request on a fresh session (closed after it); `headers` may carry any :path. */
export function h2Request(
  port: number,
  headers: Record<string, string>,
  tls: ConnectionOptions = {},
  body?: string,
): Promise<H2Response> {
  const session = h2connect(`https://127.0.0.1:${port}`, {
    servername: 'localhost',
    rejectUnauthorized: false,
    ...tls,
  });
  // The exchange reports an error while it runs; one while the session closes after it fails nothing.
  session.on('error', () => {});
  return h2Exchange(session, headers, body).finally(() => session.close());
}

/**
 * One h2 request on `session`, left open for more (several may run at once on it); rejects on a stream or
 * session error.
 * @example const [a, b] = await Promise.all([h2Exchange(session, { ':path': '/a' }), h2Exchange(session, { ':path': '/b' })])
 */
export function h2Exchange(
  session: ClientHttp2Session,
  headers: Record<string, string>,
  body?: string,
): Promise<H2Response> {
  return new Promise((resolve, reject) => {
    session.once('error', reject);
    const stream = session.request(
      { ':method': 'GET', ':authority': 'localhost', ...headers },
      { endStream: body === undefined },
    );
    let responseHeaders: H2Headers = {};
    const informational: H2Headers[] = [];
    let text = '';
    stream.setEncoding('utf8');
    stream.on('headers', (h) => informational.push(h));
    stream.on('response', (h) => {
      responseHeaders = h;
    });
    stream.on('data', (chunk: string) => {
      text += chunk;
    });
    stream.on('error', (error) => {
      session.off('error', reject);
      reject(error);
    });
    stream.on('end', () => {
      session.off('error', reject);
      resolve({
        status: Number(responseHeaders[':status']),
        headers: responseHeaders,
        body: text,
        informational,
      });
    });
    if (body !== undefined) stream.end(body);
  });
}
