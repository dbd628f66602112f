import { copyFileSync, writeFileSync } from 'node:fs';
import { connect as h2connect } from 'node:http2';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueCliCertificate, runCli } from '../helpers/cli.js';
import { type EchoUpstream, startEchoUpstream } from '../helpers/echo-upstream.js';
import { eventually } from '../helpers/eventually.js';
import { type RawResponse, rawGet } from '../helpers/gateway.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { admittedOf, storedUsageToday } from '../helpers/send-plane.js';
import { listenerAddresses, type ServeProcess, startServe } from '../helpers/serve-process.js';
import { tempDir } from '../helpers/temp-store.js';

// A real redis-server and three real gateway processes: node 0 is the origin (its store is the system of
// record, the CLI runs there), nodes 1 and 2 are replicas with data dirs of their own that know only what
// node 0 publishes through Redis, and their own copy of the server certificate.
const NODES = 3;
const MAX_STALENESS_MS = 3_000;

let root: string;
let echo: EchoUpstream;
let redis: TestRedis;
const nodes: ServeProcess[] = [];
const adminPorts: number[] = [];

function configYaml(index: number) {
  const replica = index > 0;
  return `publicUrl: https://localhost
dataDir: ./data${index}
listen:
  https: { host: 127.0.0.1, port: 0 }
  admin: { host: 127.0.0.1, port: 0 }
admin: { sourceCidrs: [127.0.0.0/8] }
drainTimeoutMs: 2000
cluster: { redis: '${redis.url}', maxStalenessMs: ${MAX_STALENESS_MS}, replica: ${replica} }
${replica ? `tls: { cert: ./node${index}.crt.pem, key: ./node${index}.key.pem }\n` : ''}upstreams:
  app: { url: '${echo.url}' }
routes:
  - { path: /api/emails, upstream: app, auth: token, scopes: [send] }
  - { path: /api/probe, upstream: app, auth: token, scopes: [probe-never-granted] }
  - { path: /console, upstream: app, auth: admin }
  - { path: /, upstream: app, auth: public }
`;
}

const cli = (...args: string[]) => runCli([...args, '--config', join(root, 'node0.yaml')], { cwd: root });

async function startNode(index: number) {
  const configPath = join(root, `node${index}.yaml`);
  writeFileSync(configPath, configYaml(index));
  const node = await startServe(['--config', configPath], { cwd: root });
  const { admin } = await listenerAddresses(node);
  nodes[index] = node;
  adminPorts[index] = admin!.port;
}

beforeAll(async () => {
  root = tempDir('mailgate-redis-');
  echo = await startEchoUpstream();
  redis = await startRedis();
  await startNode(0);
  // A replica's own server certificate (here a copy of the origin's auto certificate, as an ACME
  // certificate would be copied to every node); everything else it gets from Redis.
  for (let i = 1; i < NODES; i++) {
    copyFileSync(join(root, 'data0/tls/server.crt.pem'), join(root, `node${i}.crt.pem`));
    copyFileSync(join(root, 'data0/tls/server.key.pem'), join(root, `node${i}.key.pem`));
    await startNode(i);
  }
}, 90_000);

afterAll(async () => {
  await Promise.all(nodes.map((node) => (node?.child.exitCode === null ? node.stop() : undefined)));
  await echo?.close();
});

const send = (node: ServeProcess, token: string, path = '/api/emails') =>
  rawGet(node.port, path, { authorization: `Bearer ${token}` });

/** Issues a token and waits until every node knows it (403 on a scope it lacks spends none of its limits). */
async function issueToken(...flags: string[]): Promise<{ id: string; token: string }> {
  const run = await cli('token', 'issue', '--app', 'shop', '--scope', 'send', ...flags, '--json');
  expect(run.code, run.stderr).toBe(0);
  const issued = JSON.parse(run.stdout) as { id: string; token: string };
  for (const node of nodes)
    await eventually(async () => expect((await send(node, issued.token, '/api/probe')).status).toBe(403));
  return issued;
}

const codeOf = (response: RawResponse) =>
  (JSON.parse(response.body) as { error?: { code: string } }).error?.code;

describe('limits shared through Redis by three nodes', () => {
  it('a 100/min token admits at most its burst plus the refill across the three under concurrent load', async () => {
    const burst = 20;
    const { token } = await issueToken('--rate', '100/min', '--burst', String(burst));
    const before = echo.received.length;
    const started = Date.now();
    const responses = await Promise.all(
      Array.from({ length: 150 }, (_, i) => send(nodes[i % NODES]!, token)),
    );
    const elapsedMs = Date.now() - started;
    const admitted = admittedOf(responses);
    // 100/min refills one request every 600 ms: at most that many more than the burst in the time taken.
    expect(admitted).toBeGreaterThanOrEqual(burst);
    expect(admitted).toBeLessThanOrEqual(burst + Math.ceil(elapsedMs / 600) + 1);
    expect(echo.received.length - before).toBe(admitted);
    // Every node refused some: none of them admitted its own burst.
    for (let i = 0; i < NODES; i++)
      expect(responses.filter((r, j) => j % NODES === i && r.status === 429).length).toBeGreaterThan(0);
    const refused = responses.find((r) => r.status === 429)!;
    expect(codeOf(refused)).toBe('rate_limited');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(refused.headers['ratelimit-limit']).toBe(String(burst));
    expect(refused.headers['ratelimit-remaining']).toBe('0');
  });

  it("keeps a daily quota exact across the three nodes, and the origin's store learns the count", async () => {
    const quota = 7;
    const { id, token } = await issueToken('--rate', '1000/s', '--burst', '1000', '--quota', `${quota}/day`);
    const responses = await Promise.all(Array.from({ length: 30 }, (_, i) => send(nodes[i % NODES]!, token)));
    expect(responses.filter((r) => r.status === 200)).toHaveLength(quota);
    // The origin copies the cluster's count into its store (the console and token list read it there).
    await eventually(async () => expect(storedUsageToday(join(root, 'data0'), id)).toBe(quota), 15_000);
    const refused = responses.find((r) => r.status === 429)!;
    expect(refused.headers['ratelimit-limit']).toBe(String(quota));
    // Until UTC midnight.
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(86_400);
  });

  it('a limiter value in Redis the nodes did not write (garbage, another type) never admits more', async () => {
    const burstless = await issueToken('--rate', '1/min', '--burst', '1');
    const quotaOne = await issueToken('--rate', '1000/s', '--burst', '1000', '--quota', '1/day');
    const day = Math.floor(Date.now() / 86_400_000);
    await redis.client.hset(`mailgate:bucket:${burstless.id}`, 'c', 'not a number', 't', 'nan');
    await redis.client.set(`mailgate:quota:${quotaOne.id}:${day}`, 'garbage');
    const wrongType = await issueToken('--rate', '1/min', '--burst', '1');
    await redis.client.lpush(`mailgate:bucket:${wrongType.id}`, 'x');
    for (const node of nodes) {
      expect((await send(node, burstless.token)).status).toBe(429);
      expect((await send(node, quotaOne.token)).status).toBe(429);
    }
    // A bucket of another type is replaced by an empty one: still refused, never a full burst.
    expect((await send(nodes[0]!, wrongType.token)).status).toBe(429);
    expect(await redis.client.type(`mailgate:bucket:${wrongType.id}`)).toBe('hash');
    // The nodes are alive and serve the public plane.
    for (const node of nodes) expect((await rawGet(node.port, '/hello')).status).toBe(200);
  });
});

describe('TLS session ticket keys shared through Redis', () => {
  it('a session ticket from one node resumes on the others', async () => {
    const first = await rawGet(nodes[0]!.port, '/first');
    expect(first.session).toBeDefined();
    const same = await rawGet(nodes[0]!.port, '/same', {}, { session: first.session! });
    expect(same.reused, 'same node').toBe(true);
    for (const node of nodes.slice(1)) {
      const again = await rawGet(node.port, '/again', {}, { session: first.session! });
      expect(again.status).toBe(200);
      expect(again.reused).toBe(true);
    }
  });

  it('keys in Redis that are not 96 hex digits are ignored: the nodes keep theirs and keep serving', async () => {
    const before = await redis.client.get('mailgate:tls-ticket-keys');
    await redis.client.set('mailgate:tls-ticket-keys', 'garbage');
    await redis.client.set('mailgate:version', 'forged');
    await redis.client.publish('mailgate:changes', 'forged');
    // Every node read it (and said so) before the resumption is tried.
    for (const node of nodes)
      await eventually(async () => expect(node.stdout()).toContain('does not hold 96 hex digits; keys kept'));
    const first = await rawGet(nodes[0]!.port, '/first');
    const again = await rawGet(nodes[2]!.port, '/again', {}, { session: first.session! });
    expect(again.reused).toBe(true);
    await redis.client.set('mailgate:tls-ticket-keys', before!);
  });
});

describe('revocations published by the origin, enforced on every node within one second', () => {
  /** A keep-alive HTTP/1.1 connection and an h2 session to `port`, kept open across requests. */
  function openConnections(port: number, tls: { cert?: string; key?: string } = {}) {
    const agent = new HttpsAgent({ keepAlive: true, maxSockets: 1, rejectUnauthorized: false, ...tls });
    const session = h2connect(`https://127.0.0.1:${port}`, {
      servername: 'localhost',
      rejectUnauthorized: false,
      ...tls,
    });
    session.on('error', () => {});
    const h1 = (path: string, headers: Record<string, string> = {}) =>
      new Promise<number>((resolve, reject) => {
        const req = httpsRequest(
          {
            host: '127.0.0.1',
            port,
            path,
            agent,
            servername: 'localhost',
            headers: { host: 'localhost', ...headers },
          },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode!));
          },
        );
        req.on('error', reject);
        req.end();
      });
    const h2 = (path: string, headers: Record<string, string> = {}) =>
      new Promise<number>((resolve, reject) => {
        if (session.closed || session.destroyed) return reject(new Error('session closed'));
        const stream = session.request({ ':path': path, ':authority': 'localhost', ...headers });
        stream.on('response', (h) => {
          stream.resume();
          stream.on('end', () => resolve(Number(h[':status'])));
        });
        stream.on('error', reject);
        stream.end();
      });
    const close = () => {
      agent.destroy();
      session.destroy();
    };
    return { h1, h2, session, agent, close };
  }

  it('a revoked token: refused on every node over kept-alive HTTP/1.1, open h2 sessions and new connections', async () => {
    const { id, token } = await issueToken('--rate', '1000/s', '--burst', '1000');
    const auth = { authorization: `Bearer ${token}` };
    const open = nodes.map((node) => openConnections(node.port));
    for (const connection of open) {
      expect(await connection.h1('/api/emails', auth)).toBe(200);
      expect(await connection.h2('/api/emails', auth)).toBe(200);
    }
    const revoke = await cli('token', 'revoke', id);
    expect(revoke.code, revoke.stderr).toBe(0);
    const revokedAt = Date.now();
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, revokedAt + 1_000 - Date.now())));
    const before = echo.received.length;
    for (const [i, connection] of open.entries()) {
      expect(await connection.h1('/api/emails', auth).catch(() => 0)).not.toBe(200);
      expect(await connection.h2('/api/emails', auth).catch(() => 0)).not.toBe(200);
      expect((await send(nodes[i]!, token)).status).toBe(401);
      connection.close();
    }
    expect(echo.received.length).toBe(before);
  });

  it("a revoked certificate: no new handshake, no session resumed with another node's ticket, open connections closed", async () => {
    const { cert, key } = await issueCliCertificate(cli, 'laptop');
    const admin = (index: number, session?: Buffer) =>
      rawGet(adminPorts[index]!, '/console', {}, { cert, key, ...(session ? { session } : {}) });
    // Every replica learns the new certificate's role from Redis.
    for (let i = 0; i < NODES; i++) await eventually(async () => expect((await admin(i)).status).toBe(200));
    const ticket = (await admin(0)).session!;
    expect(ticket).toBeDefined();
    // Before the revocation, node 0's ticket resumes on the replicas.
    for (let i = 1; i < NODES; i++)
      expect([(await admin(i, ticket)).status, (await admin(i, ticket)).reused]).toEqual([200, true]);
    const open = [1, 2].map((i) => openConnections(adminPorts[i]!, { cert, key }));
    for (const connection of open) {
      expect(await connection.h1('/console')).toBe(200);
      expect(await connection.h2('/console')).toBe(200);
    }
    const revoke = await cli('ca', 'revoke', 'laptop', '--reason', 'keyCompromise');
    expect(revoke.code, revoke.stderr).toBe(0);
    const revokedAt = Date.now();
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, revokedAt + 1_000 - Date.now())));
    for (let i = 0; i < NODES; i++) {
      const fresh = await admin(i).catch(() => undefined);
      expect(fresh?.status ?? 0).not.toBe(200);
      const resumed = await admin(i, ticket).catch(() => undefined);
      expect(resumed?.reused ?? false).toBe(false);
      expect(resumed?.status ?? 0).not.toBe(200);
    }
    // The replicas closed the connections the certificate had open.
    for (const connection of open) {
      expect(connection.session.closed || connection.session.destroyed).toBe(true);
      expect(await connection.h1('/console').catch(() => 0)).not.toBe(200);
      connection.close();
    }
  });

  it("a replica serves the origin's CA, CRL and JWKS, and no admin API (it has no store to write to)", async () => {
    const [origin, replica] = await Promise.all(
      [0, 1].map((i) => rawGet(nodes[i]!.port, '/.well-known/jwks.json')),
    );
    expect(JSON.parse(replica!.body)).toEqual(JSON.parse(origin!.body));
    for (const path of ['/_mailgate/ca.pem', '/_mailgate/crl.pem']) {
      const [a, b] = await Promise.all([0, 2].map((i) => rawGet(nodes[i]!.port, path)));
      expect(b!.body).toBe(a!.body);
      expect(b!.body).toContain('-----BEGIN');
    }
  });
});

describe('hostile values in Redis', () => {
  it('a forged state document or a revoked set that lost members is refused whole: nothing revoked comes back', async () => {
    const kept = await issueToken('--rate', '1000/s', '--burst', '1000');
    const gone = await issueToken('--rate', '1000/s', '--burst', '1000');
    expect((await cli('token', 'revoke', gone.id)).code).toBe(0);
    for (const node of nodes)
      await eventually(async () => expect((await send(node, gone.token)).status).toBe(401));
    const document = await redis.client.get('mailgate:state');
    // 1: the revoked token removed from the set (the document still counts it).
    await redis.client.srem('mailgate:revoked', `token:${gone.id}`);
    await redis.client.set('mailgate:version', 'forged-1');
    await redis.client.publish('mailgate:changes', 'anything');
    for (const node of nodes.slice(1))
      await eventually(async () =>
        expect(node.stdout()).toContain('revoked set holds fewer members than the state counts'),
      );
    for (const node of nodes.slice(1)) {
      expect((await send(node, gone.token)).status).not.toBe(200);
      expect((await send(node, kept.token)).status).toBe(200);
    }
    // 2: garbage, JSON of another shape, and another type under the state key.
    for (const [n, write] of [
      () => redis.client.set('mailgate:state', '{not json'),
      () => redis.client.set('mailgate:state', JSON.stringify({ v: 1, caPem: 'x' })),
      async () => {
        await redis.client.del('mailgate:state');
        await redis.client.rpush('mailgate:state', 'x');
      },
    ].entries()) {
      await write();
      await redis.client.set('mailgate:version', `forged-2-${n}`);
      await redis.client.publish('mailgate:changes', 'anything');
      await new Promise((resolve) => setTimeout(resolve, 300));
      for (const node of nodes.slice(1)) expect((await send(node, gone.token)).status).not.toBe(200);
    }
    // A flood of forged messages is a few reads (one at a time, one queued), not one per message.
    const flood = redis.client.pipeline();
    for (let i = 0; i < 5_000; i++) flood.publish('mailgate:changes', `forged ${i}`);
    await flood.exec();
    for (const node of nodes) {
      expect(node.child.exitCode).toBeNull();
      expect((await rawGet(node.port, '/hello')).status).toBe(200);
    }
    await redis.client.del('mailgate:state');
    await redis.client.set('mailgate:state', document!);
    // The origin notices Redis differs from its store and writes it again; the replicas recover.
    for (const node of nodes)
      await eventually(async () => expect((await send(node, kept.token)).status).toBe(200), 20_000);
    for (const node of nodes) expect((await send(node, gone.token)).status).toBe(401);
  });
});

describe('a node with workers', () => {
  it('its primary holds the Redis link for its workers: limits shared with the other nodes, tickets, metrics', async () => {
    const configPath = join(root, 'node-workers.yaml');
    writeFileSync(
      configPath,
      configYaml(0).replace(
        '  admin: { host: 127.0.0.1, port: 0 }',
        '  metrics: { host: 127.0.0.1, port: 0 }',
      ),
    );
    const node = await startServe(['--config', configPath, '--workers', '2'], { cwd: root });
    try {
      const metricsPort = (await listenerAddresses(node)).metrics!.port;
      const burst = 6;
      const { token } = await issueToken('--rate', '1/min', '--burst', String(burst));
      await eventually(async () => expect((await send(node, token, '/api/probe')).status).toBe(403));
      const responses = await Promise.all(
        Array.from({ length: 40 }, (_, i) => send(i % 2 ? node : nodes[1]!, token)),
      );
      const admitted = responses.filter((r) => r.status === 200).length;
      expect(admitted).toBeGreaterThanOrEqual(burst);
      expect(admitted).toBeLessThanOrEqual(burst + 1);
      // A ticket from a worker resumes on a replica.
      const first = await rawGet(node.port, '/first');
      const again = await rawGet(nodes[2]!.port, '/again', {}, { session: first.session! });
      expect(again.reused).toBe(true);
      const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      expect(metrics).toMatch(/^mailgate_redis_up 1$/m);
    } finally {
      await node.stop();
    }
  });
});

describe('a replica with workers', () => {
  it("its primary hands the origin's state to its workers: tokens known, a revocation refused within 1 s", async () => {
    copyFileSync(join(root, 'data0/tls/server.crt.pem'), join(root, 'node3.crt.pem'));
    copyFileSync(join(root, 'data0/tls/server.key.pem'), join(root, 'node3.key.pem'));
    const configPath = join(root, 'node3.yaml');
    writeFileSync(configPath, configYaml(3).replace('  admin: { host: 127.0.0.1, port: 0 }\n', ''));
    const node = await startServe(['--config', configPath, '--workers', '2'], { cwd: root });
    try {
      const { id, token } = await issueToken('--rate', '1000/s', '--burst', '1000');
      // Fresh connections land on both workers.
      await eventually(async () => {
        for (let i = 0; i < 6; i++) expect((await send(node, token)).status).toBe(200);
      });
      expect((await cli('token', 'revoke', id)).code).toBe(0);
      const revokedAt = Date.now();
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, revokedAt + 1_000 - Date.now())));
      for (let i = 0; i < 6; i++) expect((await send(node, token)).status).toBe(401);
      expect((await rawGet(node.port, '/_mailgate/ca.pem')).body).toContain('BEGIN CERTIFICATE');
    } finally {
      await node.stop();
    }
  });
});

describe('Redis unreachable', () => {
  it('keeps the public plane, decides limits locally within maxStalenessMs, then fails closed; recovers', async () => {
    const { token } = await issueToken('--rate', '1000/s', '--burst', '1000');
    for (const node of nodes) expect((await send(node, token)).status).toBe(200);
    await redis.stop();
    const stoppedAt = Date.now();
    // Within the bound: the last known state decides (this node's own bucket, refilled at the rate).
    for (const node of nodes) {
      const response = await send(node, token);
      if (Date.now() - stoppedAt < MAX_STALENESS_MS - 500) expect(response.status).toBe(200);
    }
    // Past it: 503 cluster_unavailable on every node, a public request still 200.
    for (const node of nodes) {
      const refused = await eventually(async () => {
        const response = await send(node, token);
        expect(response.status).toBe(503);
        return response;
      }, MAX_STALENESS_MS + 5_000);
      expect(Date.now() - stoppedAt).toBeGreaterThanOrEqual(MAX_STALENESS_MS - 100);
      expect(codeOf(refused)).toBe('cluster_unavailable');
      expect(refused.headers['retry-after']).toMatch(/^\d+$/);
      expect((await rawGet(node.port, '/hello')).status).toBe(200);
    }
    // The admin plane of a replica decides on the origin's state: too old now, so 503 before any other
    // check; the origin's own store is never stale (its admin plane answers as always: 403 without a certificate).
    for (const node of nodes.slice(1)) {
      const admin = await rawGet(node.port, '/console');
      expect([admin.status, codeOf(admin)]).toEqual([503, 'cluster_unavailable']);
    }
    expect((await rawGet(nodes[0]!.port, '/console')).status).toBe(403);
    const before = echo.received.length;
    expect((await send(nodes[1]!, token)).status).toBe(503);
    expect(echo.received.length).toBe(before);
    await eventually(async () =>
      expect(nodes[0]!.stdout()).toContain('redis unreachable past cluster.maxStalenessMs'),
    );
    await redis.start();
    for (const node of nodes)
      await eventually(async () => expect((await send(node, token)).status).toBe(200), 15_000);
    await eventually(async () => expect(nodes[0]!.stdout()).toContain('redis reachable'));
  });
});
