import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { type AddressInfo, connect as netConnect, type Socket } from 'node:net';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAudit } from '../../store/audit.js';
import type { EchoUpstream } from '../helpers/echo-upstream.js';
import { eventually } from '../helpers/eventually.js';
import {
  type EchoGateway,
  fromAddress,
  h2Request,
  openRawH1,
  rawGet,
  startEchoGateway,
} from '../helpers/gateway.js';
import { addLoopbackAddresses, testSite } from '../helpers/loopback-addresses.js';
import { startServe } from '../helpers/serve-process.js';
import { tempDir, withDatabase } from '../helpers/temp-store.js';

let echo: EchoUpstream;
let gw: EchoGateway;

const BURST = 5;

beforeAll(async () => {
  gw = await startEchoGateway({
    trustedProxies: ['127.0.0.6/32'],
    // One request a minute refills the bucket: the burst is spent however long the requests take to travel.
    limits: { clientConnections: 3, clientRequestsPerMinute: 1, clientRequestBurst: BURST },
  });
  echo = gw.echo;
});

/** A TLS connection from `localAddress` that completed its handshake (HTTP/1.1, left open). */
function openTls(port: number, localAddress: string): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = openRawH1(port, fromAddress(localAddress));
    socket.once('secureConnect', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** What a plain TCP connection from `localAddress` receives before the server closes it. */
function bytesBeforeClose(port: number, localAddress: string): Promise<{ bytes: number; closed: boolean }> {
  return new Promise((resolve) => {
    let bytes = 0;
    const socket = netConnect({ host: '127.0.0.1', port, ...fromAddress(localAddress) }, () => {
      // A ClientHello would start TLS work; the cap must already have closed the connection.
      socket.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05]));
    });
    socket.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
    });
    socket.on('error', () => {});
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ bytes, closed: false });
    }, 5_000);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ bytes, closed: true });
    });
  });
}

const receivedFrom = (client: string) =>
  echo.received.filter((r) => r.headers['x-forwarded-for'] === client).length;

describe('connections per address (limits.clientConnections)', () => {
  it('closes a connection over the cap on accept, before any TLS byte, and admits again after one closes', async () => {
    const held = [
      await openTls(gw.port, '127.0.0.2'),
      await openTls(gw.port, '127.0.0.2'),
      await openTls(gw.port, '127.0.0.2'),
    ];
    try {
      expect(await bytesBeforeClose(gw.port, '127.0.0.2')).toEqual({ bytes: 0, closed: true });
      await expect(openTls(gw.port, '127.0.0.2')).rejects.toThrow();
      // Other addresses are not affected.
      expect((await rawGet(gw.port, '/other', {}, fromAddress('127.0.0.3'))).status).toBe(200);
      held.pop()!.destroy();
      await eventually(async () => {
        const response = await rawGet(gw.port, '/again', {}, fromAddress('127.0.0.2')).catch(() => undefined);
        return response?.status === 200;
      });
    } finally {
      for (const socket of held) socket.destroy();
    }
  });

  it('does not cap a trusted proxy, which carries many clients', async () => {
    const held = await Promise.all(Array.from({ length: 6 }, () => openTls(gw.port, '127.0.0.6')));
    for (const socket of held) socket.destroy();
  });
});

describe('request rate per address (limits.clientRequestsPerMinute, clientRequestBurst)', () => {
  it('answers 429 with Retry-After and the JSON error past the burst; nothing more reaches the upstream', async () => {
    const tls = fromAddress('127.0.0.4');
    for (let i = 0; i < BURST; i++) expect((await rawGet(gw.port, `/ok${i}`, {}, tls)).status).toBe(200);
    const refused = await rawGet(gw.port, '/over', { accept: 'application/json' }, tls);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(JSON.parse(refused.body).error).toMatchObject({ status: 429, code: 'rate_limited' });
    // The same address over h2 shares the bucket.
    const h2 = await h2Request(gw.port, { ':path': '/over-h2' }, fromAddress('127.0.0.4'));
    expect(h2.status).toBe(429);
    expect(h2.headers['retry-after']).toBeDefined();
    expect(receivedFrom('127.0.0.4')).toBe(BURST);
    // Another address still gets through.
    expect((await rawGet(gw.port, '/fine', {}, fromAddress('127.0.0.5'))).status).toBe(200);

    // One access line per refusal (its `denied` member), and no separate warning line per request.
    const lines = await gw.logLines('/over-h2');
    const fromClient = lines.filter((line) => line.client === '127.0.0.4');
    const refusals = fromClient.filter((line) => line.status === 429);
    expect(refusals.map((line) => [line.path, line.denied])).toEqual([
      ['/over', 'client_rate'],
      ['/over-h2', 'client_rate'],
    ]);
    expect(fromClient.filter((line) => line.msg === 'denied')).toEqual([]);
  });

  it('behind a trusted proxy, limits each forwarded client address on its own', async () => {
    const tls = fromAddress('127.0.0.6');
    const as = (client: string) => ({ 'x-forwarded-for': client });
    for (let i = 0; i < BURST; i++)
      expect((await rawGet(gw.port, '/p', as('198.51.100.1'), tls)).status).toBe(200);
    expect((await rawGet(gw.port, '/p', as('198.51.100.1'), tls)).status).toBe(429);
    expect((await rawGet(gw.port, '/p', as('198.51.100.2'), tls)).status).toBe(200);
  });

  it('behind a trusted proxy, counts an IPv6 client by its /64 however it writes its address', async () => {
    const tls = fromAddress('127.0.0.6');
    const as = (client: string) => ({ 'x-forwarded-for': client });
    // Five addresses of 2001:db8:5:1::/64, in the spellings a client or a proxy may send.
    const spellings = [
      '2001:db8:5:1::1',
      '2001:DB8:5:1::2',
      '2001:0db8:0005:0001:0000:0000:0000:0003',
      '2001:db8:5:1:ffff::4%eth0',
      '2001:db8:5:1:a:b:c:d',
    ];
    for (const client of spellings) expect((await rawGet(gw.port, '/v6', as(client), tls)).status).toBe(200);
    expect((await rawGet(gw.port, '/v6-over', as('2001:db8:5:1::99'), tls)).status).toBe(429);
    // The next /64 is another client.
    expect((await rawGet(gw.port, '/v6-next', as('2001:db8:5:2::1'), tls)).status).toBe(200);
    // Only the limit groups: the upstream and the access log see each full address.
    expect(echo.received.filter((r) => r.url === '/v6').map((r) => r.headers['x-forwarded-for'])).toEqual(
      spellings,
    );
    const lines = await gw.logLines('/v6-next');
    expect(
      lines.filter((line) => line.path === '/v6-over').map((line) => [line.client, line.status]),
    ).toEqual([['2001:db8:5:1::99', 429]]);
  });

  it('behind a trusted proxy, an IPv4 client written IPv4-mapped is the same client', async () => {
    const tls = fromAddress('127.0.0.6');
    for (let i = 0; i < BURST; i++)
      expect(
        (await rawGet(gw.port, '/mapped', { 'x-forwarded-for': '::ffff:198.51.100.30' }, tls)).status,
      ).toBe(200);
    const plain = await rawGet(gw.port, '/mapped', { 'x-forwarded-for': '198.51.100.30' }, tls);
    expect(plain.status).toBe(429);
  });

  it('counts refusals in mailgate_client_limited_total', async () => {
    // Refusals of its own, from addresses no other test uses: the file's tests may run in any order.
    const counted = async (limit: string) => {
      const text = await gw.gateway.metrics.registry.getSingleMetricAsString('mailgate_client_limited_total');
      return Number(new RegExp(`\\{limit="${limit}"\\} (\\d+)`).exec(text)?.[1] ?? 0);
    };
    const connectionsBefore = await counted('connections');
    const requestsBefore = await counted('requests');
    const held = await Promise.all([1, 2, 3].map(() => openTls(gw.port, '127.0.0.8')));
    try {
      expect(await bytesBeforeClose(gw.port, '127.0.0.8')).toEqual({ bytes: 0, closed: true });
    } finally {
      for (const socket of held) socket.destroy();
    }
    const statuses = [];
    for (let i = 0; i <= BURST; i++)
      statuses.push((await rawGet(gw.port, `/count${i}`, {}, fromAddress('127.0.0.9'))).status);
    expect(statuses.at(-1)).toBe(429);
    expect(await counted('connections')).toBe(connectionsBefore + 1);
    expect(await counted('requests')).toBe(requestsBefore + 1);
  });
});

describe('admin-plane denials (the audit tally)', () => {
  it('tallies the denied addresses of one IPv6 /64 as one client, naming the first address and the prefix', async () => {
    const tls = fromAddress('127.0.0.6');
    const network = '2001:db8:6:1::/64';
    const addresses = ['2001:db8:6:1::a', '2001:db8:6:1::b', '2001:DB8:6:1:0::c'];
    for (const client of addresses) {
      const denied = await rawGet(gw.port, '/_mailgate/admin/', { 'x-forwarded-for': client }, tls);
      expect(denied.status).toBe(403);
    }
    // Batches are written once a second; a tally is per 5-minute window, so the three may span two.
    const tallies = await eventually(() => {
      const rows = withDatabase(gw.dataDir, (db) => readAudit(db, 0)).filter(
        (row) => row.outcome === 'denied' && row.detail?.clientPrefix === network,
      );
      const count = rows.reduce((sum, row) => sum + (row.detail!.count as number), 0);
      return count === addresses.length && rows;
    });
    expect(tallies.length).toBeLessThan(addresses.length);
    expect(tallies[0]!.detail).toMatchObject({ client: addresses[0], reason: 'source_not_allowed' });
  });
});

describe('IPv6 clients from distinct source addresses of one /64 (real sockets; addresses added to lo)', () => {
  const site = testSite();
  /** Host `host` of the site's /64 number `network`. */
  const v6 = (network: number, host: number) => `${site}:${network}::${host.toString(16)}`;
  /** Per /64: connections (1), requests (2), in flight upstream (3), and a client of its own (4). */
  const addresses = [1, 2, 3, 4].flatMap((network) => [1, 2, 3, 4, 5, 6].map((host) => v6(network, host)));
  let skipped: string | undefined;
  let v6gw: EchoGateway;

  beforeAll(async () => {
    skipped = addLoopbackAddresses(addresses);
    if (skipped !== undefined) return;
    v6gw = await startEchoGateway({
      listen: { https: { host: '::1', port: 0 } },
      limits: {
        clientConnections: 3,
        clientRequestsPerMinute: 1,
        clientRequestBurst: BURST,
        upstreamRequestsPerClient: 2,
      },
    });
  });

  it('caps open connections per /64: a fourth address of it is closed on accept, another /64 is served', async ({
    skip,
  }) => {
    if (skipped !== undefined) skip(skipped);
    const held = [
      await openTls(v6gw.port, v6(1, 1)),
      await openTls(v6gw.port, v6(1, 2)),
      await openTls(v6gw.port, v6(1, 3)),
    ];
    try {
      expect(await bytesBeforeClose(v6gw.port, v6(1, 4))).toEqual({ bytes: 0, closed: true });
      await expect(openTls(v6gw.port, v6(1, 5))).rejects.toThrow();
      expect((await rawGet(v6gw.port, '/other-64', {}, fromAddress(v6(4, 1)))).status).toBe(200);
      held.pop()!.destroy();
      await eventually(async () => {
        const response = await rawGet(v6gw.port, '/again', {}, fromAddress(v6(1, 6))).catch(() => undefined);
        return response?.status === 200;
      });
    } finally {
      for (const socket of held) socket.destroy();
    }
  });

  it('rate-limits per /64: past the burst, each new address of it gets 429; another /64 is served', async ({
    skip,
  }) => {
    if (skipped !== undefined) skip(skipped);
    for (let host = 1; host <= BURST; host++)
      expect((await rawGet(v6gw.port, '/rate', {}, fromAddress(v6(2, host)))).status).toBe(200);
    const refused = await rawGet(v6gw.port, '/rate-over', {}, fromAddress(v6(2, 6)));
    expect(refused.status).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(
      v6gw.echo.received.filter((r) => r.url === '/rate').map((r) => r.headers['x-forwarded-for']),
    ).toEqual([1, 2, 3, 4, 5].map((host) => v6(2, host)));
    expect((await rawGet(v6gw.port, '/rate-other', {}, fromAddress(v6(4, 2)))).status).toBe(200);
    const lines = await v6gw.logLines('/rate-other');
    expect(lines.find((line) => line.path === '/rate-over')).toMatchObject({
      client: v6(2, 6),
      denied: 'client_rate',
    });
  });

  it('shares the upstream in-flight cap per /64: a third address gets 503 while two hold requests', async ({
    skip,
  }) => {
    if (skipped !== undefined) skip(skipped);
    const hangs = () => v6gw.echo.received.filter((r) => r.url === '/hang').length;
    const held = [v6(3, 1), v6(3, 2)].map((address) => {
      const socket = openRawH1(v6gw.port, fromAddress(address));
      socket.on('error', () => {});
      socket.write('GET /hang HTTP/1.1\r\nHost: localhost\r\n\r\n');
      return socket;
    });
    try {
      await eventually(() => hangs() === 2);
      const busy = await rawGet(v6gw.port, '/busy', {}, fromAddress(v6(3, 3)));
      expect(busy.status).toBe(503);
      expect(JSON.parse(busy.body).error.code).toBe('upstream_busy');
      expect((await rawGet(v6gw.port, '/busy-other', {}, fromAddress(v6(4, 3)))).status).toBe(200);
    } finally {
      for (const socket of held) socket.destroy();
    }
    // Both held requests end with their connections; the /64 is served again and the gateway is alive.
    await eventually(() => v6gw.echo.hangsCancelled() === 2);
    expect((await rawGet(v6gw.port, '/after', {}, fromAddress(v6(3, 4)))).status).toBe(200);
  });
});

/** The nth address of the flood, from 127.1.0.0 upwards (never 127.255.255.255, lo's broadcast). */
function floodAddress(n: number): string {
  return `127.${1 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`;
}

/** One plain-HTTP request from `localAddress` on a new connection; resolves with the status line. */
function plainGet(port: number, localAddress: string, path: string): Promise<string> {
  const socket: Socket = netConnect({ host: '127.0.0.1', port, localAddress }, () => {
    // write, not end: Node's HTTP server drops a request whose client half-closed first.
    socket.write(`GET ${path} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n`);
  });
  return statusLineAtClose(socket);
}

/** One TLS request from `localAddress`, resuming `session` when given (the flood measures the table, not RSA). */
function tlsGet(port: number, localAddress: string, session: { ticket?: Buffer }): Promise<string> {
  const tls = { ...fromAddress(localAddress), maxVersion: 'TLSv1.2', session: session.ticket } as const;
  const socket = openRawH1(port, tls);
  socket.once('secureConnect', () =>
    socket.write('GET /tls HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n'),
  );
  socket.once('session', (ticket: Buffer) => {
    session.ticket ??= ticket;
  });
  return statusLineAtClose(socket);
}

/** The status line the server answered on `socket` ('' for none), once it closed the connection. */
function statusLineAtClose(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    let head = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      if (head.length < 64) head += chunk;
    });
    socket.on('error', () => {});
    socket.on('close', () => resolve(head.slice(0, head.indexOf('\r\n'))));
  });
}

async function runPool(count: number, concurrency: number, task: (n: number) => unknown) {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await task(next++);
    }),
  );
}

function rssKiB(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
}

const FLOOD_ADDRESSES = 100_000;
const TLS_ADDRESSES = 1_000;
const TABLE_SIZE = 10_000;

describe('a flood of distinct source addresses', () => {
  let upstream: Server;
  let root: string;

  beforeAll(async () => {
    upstream = createServer((_req, res) => res.end('ok'));
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    root = tempDir('mailgate-flood-');
  });

  afterAll(async () => {
    upstream?.closeAllConnections();
    await new Promise((resolve) => upstream?.close(resolve));
  });

  it(`keeps the address table bounded over ${FLOOD_ADDRESSES} addresses from 127.0.0.0/8`, async () => {
    const upstreamPort = (upstream.address() as AddressInfo).port;
    writeFileSync(
      join(root, 'mailgate.yaml'),
      [
        'publicUrl: https://localhost',
        'listen:',
        '  https: { host: 127.0.0.1, port: 0 }',
        '  http: { host: 127.0.0.1, port: 0 }',
        '  metrics: { host: 127.0.0.1, port: 0 }',
        `limits: { clientTableSize: ${TABLE_SIZE} }`,
        'log: { level: info }',
        `upstreams: { app: { url: 'http://127.0.0.1:${upstreamPort}' } }`,
        'routes: [{ path: /, upstream: app, auth: public }]',
        '',
      ].join('\n'),
    );
    const serve = await startServe([], { cwd: root });
    try {
      await eventually(() => serve.stdout().includes('mailgate listening'));
      const listening = serve
        .stdout()
        .split('\n')
        .find((line) => line.includes('mailgate listening'));
      const { addresses } = JSON.parse(listening!) as {
        addresses: Record<'http' | 'metrics', AddressInfo>;
      };
      const metric = async (table: string) => {
        const text = await fetch(`http://127.0.0.1:${addresses.metrics.port}/metrics`).then((r) => r.text());
        return Number(new RegExp(`mailgate_client_addresses\\{table="${table}"\\} (\\d+)`).exec(text)![1]);
      };
      // ACME challenges on the plain-HTTP listener take the same pipeline (and the same limits) without the
      // cost of a TLS handshake per address; a share of the addresses comes over TLS as well.
      const acme = '/.well-known/acme-challenge/t';
      const statuses = new Map<string, number>();
      const count = (status: string) => statuses.set(status, (statuses.get(status) ?? 0) + 1);
      await runPool(2_000, 32, async (n) =>
        count(await plainGet(addresses.http.port, floodAddress(n), acme)),
      );
      const before = rssKiB(serve.child.pid!);
      const started = performance.now();
      await runPool(FLOOD_ADDRESSES - 2_000, 64, async (n) =>
        count(await plainGet(addresses.http.port, floodAddress(n + 2_000), acme)),
      );
      const session = {};
      await runPool(TLS_ADDRESSES, 16, async (n) =>
        count(await tlsGet(serve.port, floodAddress(FLOOD_ADDRESSES + n), session)),
      );
      const seconds = (performance.now() - started) / 1000;
      const after = rssKiB(serve.child.pid!);
      console.log(
        `flood: ${FLOOD_ADDRESSES + TLS_ADDRESSES} addresses in ${seconds.toFixed(1)} s; gateway RSS ${Math.round(before / 1024)} MiB after warm-up -> ${Math.round(after / 1024)} MiB; table ${await metric('buckets')}/${TABLE_SIZE}`,
      );
      expect(Object.fromEntries(statuses)).toEqual({ 'HTTP/1.1 200 OK': FLOOD_ADDRESSES + TLS_ADDRESSES });
      expect(await metric('buckets')).toBeLessThanOrEqual(TABLE_SIZE);
      await eventually(async () => (await metric('connections')) === 0);
      // Still serving, and a fresh address gets a fresh bucket.
      expect(await tlsGet(serve.port, '127.0.0.7', {})).toBe('HTTP/1.1 200 OK');
    } finally {
      await serve.stop();
    }
  }, 600_000);
});
