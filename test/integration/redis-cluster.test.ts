import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { type EchoUpstream, startEchoUpstream } from '../helpers/echo-upstream.js';
import { eventually } from '../helpers/eventually.js';
import { type RawResponse, rawGet } from '../helpers/gateway.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { type ServeProcess, startServe } from '../helpers/serve-process.js';

// A real redis-server and three real gateway processes (nodes) sharing it.
const NODES = 3;
const MAX_STALENESS_MS = 3_000;

let root: string;
let echo: EchoUpstream;
let redis: TestRedis;
const nodes: ServeProcess[] = [];

function configYaml(name: string) {
  return `publicUrl: https://localhost
dataDir: ./data
listen:
  https: { host: 127.0.0.1, port: 0 }
drainTimeoutMs: 2000
cluster: { redis: '${redis.url}', maxStalenessMs: ${MAX_STALENESS_MS} }
upstreams:
  app: { url: '${echo.url}' }
routes:
  - { path: /api/emails, upstream: app, auth: token, scopes: [send] }
  - { path: /api/probe, upstream: app, auth: token, scopes: [probe-never-granted] }
  - { path: /, upstream: app, auth: public }
# ${name}
`;
}

const cli = (...args: string[]) => runCli([...args, '--config', join(root, 'node0.yaml')], { cwd: root });

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'mailgate-redis-'));
  echo = await startEchoUpstream();
  redis = await startRedis();
  // One after the other: the first creates the CA and the store the others open.
  for (let i = 0; i < NODES; i++) {
    const configPath = join(root, `node${i}.yaml`);
    writeFileSync(configPath, configYaml(`node ${i}`));
    nodes.push(await startServe(['--config', configPath], { cwd: root }));
  }
}, 90_000);

afterAll(async () => {
  await Promise.all(nodes.map((node) => (node.child.exitCode === null ? node.stop() : undefined)));
  await echo?.close();
  if (root) rmSync(root, { recursive: true, force: true });
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
    const statuses = responses.map((r) => r.status);
    expect(
      statuses.filter((s) => s !== 200 && s !== 429),
      responses.map((r) => r.body).join(''),
    ).toEqual([]);
    const admitted = statuses.filter((s) => s === 200).length;
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

  it('keeps a daily quota exact across the three nodes', async () => {
    const quota = 7;
    const { token } = await issueToken('--rate', '1000/s', '--burst', '1000', '--quota', `${quota}/day`);
    const responses = await Promise.all(Array.from({ length: 30 }, (_, i) => send(nodes[i % NODES]!, token)));
    expect(responses.filter((r) => r.status === 200)).toHaveLength(quota);
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
