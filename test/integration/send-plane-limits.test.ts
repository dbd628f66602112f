import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { connect as h2connect } from 'node:http2';
import { join } from 'node:path';
import { decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withDatabase } from '../../store/database.js';
import { msUntilUtcMidnight } from '../../tokens/token-bucket.js';
import { onCleanup } from '../helpers/cleanup.js';
import { CLI_MAIN, runCli } from '../helpers/cli.js';
import { type EchoUpstream, startEchoUpstream } from '../helpers/echo-upstream.js';
import { clockReaches, eventually } from '../helpers/eventually.js';
import {
  h2Exchange,
  h2Request,
  rawGet,
  rawRequest,
  startTestGateway,
  type TestGateway,
} from '../helpers/gateway.js';
import { storedUsageToday } from '../helpers/send-plane.js';
import { tempDir } from '../helpers/temp-store.js';

const ISSUER = 'https://mail.example.test';
const RAW_CONFIG = {
  publicUrl: ISSUER,
  routes: [
    { path: '/api/emails', upstream: 'templates', auth: 'token', scopes: ['send'] },
    { path: '/api/dead', upstream: 'dead', auth: 'token', scopes: ['send'] },
    { path: '/api/small', upstream: 'templates', auth: 'token', scopes: ['send'], maxBodyBytes: 16 },
    // No token holds this scope: a 403 here shows the gateway knows a token without using its limits.
    { path: '/api/probe', upstream: 'templates', auth: 'token', scopes: ['probe-never-granted'] },
  ],
};

interface IssuedJson {
  id: string;
  kid: string;
  token: string;
}

let echo: EchoUpstream;
let root: string;
let dataDir: string;
let gw: TestGateway;

beforeAll(async () => {
  if (!existsSync(CLI_MAIN))
    throw new Error(`build the CLI first: npx tsc -p tsconfig.build.json (${CLI_MAIN})`);
  echo = await startEchoUpstream();
  root = tempDir('mailgate-send-limits-');
  dataDir = join(root, 'data');
  gw = await startGateway();
});

afterAll(async () => {
  await gw?.close();
  await echo?.close();
});

/** A gateway on `dir`: the file's own data dir, or the quota test's, which restarts its gateway. */
function startGateway(dir = dataDir) {
  const upstreams = {
    templates: { url: echo.url },
    dead: { url: 'http://127.0.0.1:1', connectTimeoutMs: 500 },
  };
  return startTestGateway({ ...RAW_CONFIG, upstreams }, dir);
}

/** The real CLI against a gateway's data dir, issuing for the gateway's publicUrl. */
const mailgate = (args: string[], dir = dataDir) =>
  runCli(args, { dataDir: dir, cwd: root, env: { MAILGATE_PUBLIC_URL: ISSUER } });

async function issueIn(dir: string, ...flags: string[]): Promise<IssuedJson> {
  const run = await mailgate(['token', 'issue', '--app', 'shop', '--scope', 'send', ...flags, '--json'], dir);
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as IssuedJson;
}

const issue = (...flags: string[]) => issueIn(dataDir, ...flags);

const send = (token: string, path = '/api/emails', port = gw.port) =>
  rawGet(port, path, { authorization: `Bearer ${token}` });

/** Waits until the gateway has loaded the token (403 on the probe route), spending none of its limits. */
async function untilKnown(token: string, port = gw.port) {
  await eventually(async () => expect((await send(token, '/api/probe', port)).status).toBe(403));
}

const header = (response: { headers: Record<string, string> }, name: string) =>
  Number(response.headers[name]);

const usageToday = (id: string, dir = dataDir) => storedUsageToday(dir, id);

describe('rate limit', () => {
  it('--rate 5/min --burst 3: three pass with RateLimit-* headers, the fourth gets 429 and Retry-After', async () => {
    const { token } = await issue('--rate', '5/min', '--burst', '3');
    await untilKnown(token);
    const before = echo.received.length;
    // The bucket refills while the requests travel (a TLS handshake each, seconds apart on a loaded
    // machine): each lower bound allows the second of rounding plus the whole seconds since the first request.
    const firstSentAt = Date.now();
    const refilledSeconds = () => Math.floor((Date.now() - firstSentAt) / 1000);
    for (const remaining of [2, 1, 0]) {
      const response = await send(token);
      expect(response.status).toBe(200);
      expect(header(response, 'ratelimit-limit')).toBe(3);
      expect(header(response, 'ratelimit-remaining')).toBe(remaining);
      // 5/min refills one request every 12 s; the bucket is full again 12 s per missing request later.
      const reset = header(response, 'ratelimit-reset');
      expect(reset).toBeLessThanOrEqual((3 - remaining) * 12);
      expect(reset).toBeGreaterThanOrEqual((3 - remaining) * 12 - 1 - refilledSeconds());
    }
    expect(echo.received.length).toBe(before + 3);
    const limited = await send(token);
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toMatch(/^\d+$/);
    expect(header(limited, 'retry-after')).toBeGreaterThanOrEqual(11 - refilledSeconds());
    expect(header(limited, 'retry-after')).toBeLessThanOrEqual(12);
    expect(header(limited, 'ratelimit-limit')).toBe(3);
    expect(header(limited, 'ratelimit-remaining')).toBe(0);
    expect(header(limited, 'ratelimit-reset')).toBeGreaterThanOrEqual(35 - refilledSeconds());
    expect(JSON.parse(limited.body).error.code).toBe('rate_limited');
    const overH2 = await h2Request(gw.port, { ':path': '/api/emails', authorization: `Bearer ${token}` });
    expect(overH2.status).toBe(429);
    expect(Number(overH2.headers['retry-after'])).toBeGreaterThanOrEqual(11 - refilledSeconds());
    expect(overH2.headers['ratelimit-remaining']).toBe('0');
    expect(echo.received.length).toBe(before + 3);
    expect(await gw.gateway.metrics.registry.getSingleMetricAsString('mailgate_rate_limited_total')).toMatch(
      /mailgate_rate_limited_total\{app="shop"\} [1-9]/,
    );
  });

  it('after waiting Retry-After seconds the next request passes (--rate 2/s --burst 2)', async () => {
    const { token } = await issue('--rate', '2/s', '--burst', '2');
    await untilKnown(token);
    // 2/s refills one request every 500 ms, less than three TLS handshakes one after another can take on a
    // loaded machine: the three go at once, on one h2 connection already open.
    const session = h2connect(`https://127.0.0.1:${gw.port}`, {
      servername: 'localhost',
      rejectUnauthorized: false,
    });
    onCleanup(() => session.destroy());
    await once(session, 'connect');
    const burst = await Promise.all(
      [1, 2, 3].map(() => h2Exchange(session, { ':path': '/api/emails', authorization: `Bearer ${token}` })),
    );
    expect(burst.map((response) => response.status).sort()).toEqual([200, 200, 429]);
    const limited = burst.find((response) => response.status === 429)!;
    expect(limited.headers['retry-after']).toBe('1');
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect((await send(token)).status).toBe(200);
  });
});

describe('RateLimit-* headers on every response to an authorized token', () => {
  it('also on 502 (upstream down) and 413 (body too large), which count against the limits', async () => {
    const { token } = await issue('--rate', '10/min', '--burst', '10');
    await untilKnown(token);
    const dead = await send(token, '/api/dead');
    expect(dead.status).toBe(502);
    expect(header(dead, 'ratelimit-limit')).toBe(10);
    expect(header(dead, 'ratelimit-remaining')).toBe(9);
    const body = 'x'.repeat(64);
    const tooLarge = await rawRequest(
      gw.port,
      `POST /api/small HTTP/1.1\r\nhost: localhost\r\nauthorization: Bearer ${token}\r\n` +
        `content-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`,
    );
    expect(tooLarge.status).toBe(413);
    expect(header(tooLarge, 'ratelimit-remaining')).toBe(8);
  });
});

describe('mailgate token revoke (another process)', () => {
  it('takes effect within one second of the command returning, for a token already verified', async () => {
    const { id, token } = await issue();
    await untilKnown(token);
    expect((await send(token)).status).toBe(200);
    const run = await mailgate(['token', 'revoke', id]);
    const returned = Date.now();
    expect(run.code, run.stderr).toBe(0);
    await clockReaches(returned + 1000);
    const response = await send(token);
    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toBe(
      'Bearer realm="mailgate", error="invalid_token", error_description="token revoked"',
    );
  });
});

describe('mailgate keys rotate (another process)', () => {
  it('old tokens stay valid; new tokens carry the new kid and pass', async () => {
    const old = await issue();
    await untilKnown(old.token);
    expect((await send(old.token)).status).toBe(200);
    const run = await mailgate(['keys', 'rotate', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const rotated = JSON.parse(run.stdout) as { kid: string; previousKid: string };
    expect(rotated.previousKid).toBe(old.kid);
    const fresh = await issue();
    const issuedAt = Date.now();
    expect(decodeProtectedHeader(fresh.token).kid).toBe(rotated.kid);
    expect(rotated.kid).not.toBe(old.kid);
    // The new key and token are known within a second of the command returning.
    await clockReaches(issuedAt + 1000);
    expect((await send(fresh.token)).status).toBe(200);
    expect((await send(old.token)).status).toBe(200);
    const jwks = JSON.parse((await rawGet(gw.port, '/.well-known/jwks.json')).body) as {
      keys: Array<{ kid: string }>;
    };
    expect(jwks.keys.map((key) => key.kid)).toEqual([rotated.kid, old.kid]);
  });
});

describe('mailgate token issue: bad input against an existing store', () => {
  it('exits 2 with one line naming the flag and writes no token, key or audit row', async () => {
    const counts = () =>
      withDatabase(dataDir, (db) =>
        ['tokens', 'signing_keys', 'audit'].map(
          (table) => (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n,
        ),
      );
    const before = counts();
    const base = ['token', 'issue', '--app', 'shop', '--scope', 'send'];
    for (const [argv, flag] of [
      [[...base, '--colour', 'red'], '--colour'],
      [[...base, '--rate', '60 per minute'], '--rate'],
      [[...base, '--rate', '60/fortnight'], '--rate'],
      [[...base, '--ttl', '0'], '--ttl'],
      [['token', 'issue', '--app', 'shop', '--scope', 'send welcome'], '--scope'],
    ] as Array<[string[], string]>) {
      const run = await mailgate(argv);
      expect(run.code, argv.join(' ')).toBe(2);
      expect(run.stdout).toBe('');
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
      expect(run.stderr).toContain(flag);
    }
    expect(counts()).toEqual(before);
  });
});

describe('daily quota', () => {
  it('--quota 3/day holds across a gateway restart', async () => {
    // A data dir of its own: the restart leaves the gateway the other tests share alone, whatever the order.
    const quotaDir = join(root, 'quota-data');
    let restarted = await startGateway(quotaDir);
    const { id, token } = await issueIn(quotaDir, '--quota', '3/day');
    await untilKnown(token, restarted.port);
    for (const remaining of [2, 1]) {
      const response = await send(token, undefined, restarted.port);
      expect(response.status).toBe(200);
      expect(header(response, 'ratelimit-limit')).toBe(3);
      expect(header(response, 'ratelimit-remaining')).toBe(remaining);
    }
    // Counts are written every second while running, and once more on close.
    await eventually(async () => expect(usageToday(id, quotaDir)).toBe(2), 1500);
    await restarted.close();
    expect(usageToday(id, quotaDir)).toBe(2);

    restarted = await startGateway(quotaDir);
    const last = await send(token, undefined, restarted.port);
    expect(last.status).toBe(200);
    expect(header(last, 'ratelimit-remaining')).toBe(0);
    const refused = await send(token, undefined, restarted.port);
    expect(refused.status).toBe(429);
    const untilMidnight = Math.ceil(msUntilUtcMidnight(Date.now()) / 1000);
    expect(Math.abs(header(refused, 'retry-after') - untilMidnight)).toBeLessThanOrEqual(2);
    expect(header(refused, 'ratelimit-limit')).toBe(3);
    expect(header(refused, 'ratelimit-remaining')).toBe(0);
    await restarted.close();
    expect(usageToday(id, quotaDir)).toBe(3);
  });
});
