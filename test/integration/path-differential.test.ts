/**
 * Path differential (security rule 1): generated hostile paths go through the real gateway to a real nginx
 * set up like Mailcow's (distinct answers for its admin and public locations). Whatever a public route
 * forwards must be public both to nginx and to an interpreter that decodes twice, decodes overlong UTF-8,
 * turns `\` into `/`, drops `;` parameters and trailing dots, then resolves dot segments.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalizeTarget } from '../../gateway/canonical-path.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { hostilePath } from '../helpers/hostile-paths.js';
import { nginxConfig } from '../helpers/nginx.js';
import { spawnOnFreePort } from '../helpers/ports.js';
import { tempDir } from '../helpers/temp-store.js';

/** The gateway's guarded prefixes, as nginx/mailgate.example.yaml routes them. */
const GUARDED = ['/admin', '/rspamd', '/api/emails'];

let dir: string;
let nginx: ChildProcess | undefined;
let nginxPort: number;
let gw: TestGateway;
let pool: Pool;

/**
 * Mailcow's nginx in miniature: the admin UI (/admin), Rspamd (/rspamd/) and, in mailgate's example, the
 * template service behind /api/emails answer "guarded"; everything else (SOGo, DAV, ActiveSync) "public".
 * Each answer carries the request target nginx received.
 */
function mailcowLikeServer(port: number) {
  const guarded = GUARDED.map(
    (prefix) => `
    location = ${prefix} { return 200 "guarded $request_uri"; }
    location ^~ ${prefix}/ { return 200 "guarded $request_uri"; }`,
  ).join('');
  return `  default_type text/plain;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:${port};
    ${guarded}
    location / { return 200 "public $request_uri"; }
  }`;
}

beforeAll(async () => {
  dir = tempDir('mailgate-pathdiff-');
  ({ child: nginx, port: nginxPort } = await spawnOnFreePort((port) => {
    writeFileSync(
      join(dir, 'nginx.conf'),
      nginxConfig(
        dir,
        mailcowLikeServer(port),
        `daemon off;\nmaster_process off;\nerror_log ${join(dir, 'error.log')} error;`,
      ),
    );
    return spawn('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: 'ignore' });
  }));
  gw = await startTestGateway({
    admin: { sourceCidrs: ['127.0.0.2/32'] },
    // One client sends every path: the per-address rate limit (rule 9) would answer 429 after its burst.
    limits: { clientRequestBurst: 1_000_000 },
    upstreams: { mailcow: { url: `http://127.0.0.1:${nginxPort}` } },
    routes: [
      { path: '/admin', upstream: 'mailcow', auth: 'admin' },
      { path: '/rspamd', upstream: 'mailcow', auth: 'admin' },
      { path: '/api/emails', upstream: 'mailcow', auth: 'token', scopes: ['send'] },
      { path: '/app', upstream: 'mailcow', auth: 'public', stripPrefix: true },
      { path: '/', upstream: 'mailcow', auth: 'public' },
    ],
  });
  pool = new Pool(gw.url, {
    connections: 4,
    pipelining: 16,
    connect: { rejectUnauthorized: false, servername: 'localhost' },
  });
}, 30_000);

afterAll(async () => {
  await pool?.destroy();
  await gw?.close();
  nginx?.kill();
});

/** Decodes `%HH` once, byte-wise and leniently (a malformed escape stays as it is). */
function percentDecode(bytes: Buffer): Buffer {
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    const hex = bytes.subarray(i + 1, i + 3).toString('latin1');
    if (bytes[i] === 0x25 && /^[0-9a-f]{2}$/i.test(hex)) {
      out.push(Number.parseInt(hex, 16));
      i += 2;
    } else out.push(bytes[i] as number);
  }
  return Buffer.from(out);
}

/** UTF-8 as a careless decoder reads it: overlong forms accepted (C0 AF is `/`), invalid bytes kept. */
function lenientUtf8(bytes: Buffer): string {
  let text = '';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] as number;
    const length = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    let code = length === 1 ? b : b & (0x3f >> (length - 1));
    let ok = length > 1 && i + length <= bytes.length;
    for (let k = 1; ok && k < length; k++) {
      const next = bytes[i + k] as number;
      ok = (next & 0xc0) === 0x80;
      code = (code << 6) | (next & 0x3f);
    }
    if (length > 1 && ok && code <= 0x10ffff) {
      text += String.fromCodePoint(code);
      i += length - 1;
    } else text += String.fromCharCode(b);
  }
  return text;
}

/**
 * The most lenient reading of a path any server behind the gateway might apply: decode twice, overlong
 * UTF-8, `\` as `/`, `;` parameters and trailing dots dropped, dot segments resolved, case folded.
 */
function lenientReading(path: string): string {
  const decoded = lenientUtf8(percentDecode(percentDecode(Buffer.from(path, 'latin1'))));
  const resolved: string[] = [];
  for (let segment of decoded.replaceAll('\\', '/').split('/')) {
    const parameters = segment.indexOf(';');
    if (parameters !== -1) segment = segment.slice(0, parameters);
    if (segment !== '..' && segment !== '.') segment = segment.replace(/\.+$/, '');
    if (segment === '' || segment === '.') continue;
    if (segment === '..') resolved.pop();
    else resolved.push(segment);
  }
  return `/${resolved.join('/')}`.toLowerCase();
}

function guardedReading(path: string): string | undefined {
  const reading = lenientReading(path);
  return GUARDED.find((prefix) => reading === prefix || reading.startsWith(`${prefix}/`));
}

interface Outcome {
  path: string;
  status: number;
  body: string;
}

async function send(path: string): Promise<Outcome> {
  const { statusCode, body } = await pool.request({ path, method: 'GET', headers: { host: 'localhost' } });
  return { path, status: statusCode, body: await body.text() };
}

/** Sends every path, `concurrency` at a time over the pipelined keep-alive pool. */
async function sendAll(paths: readonly string[], concurrency = 64): Promise<Outcome[]> {
  const outcomes: Outcome[] = new Array(paths.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < paths.length) {
        const index = next++;
        outcomes[index] = await send(paths[index] as string);
      }
    }),
  );
  return outcomes;
}

/** Paths a client can put on the request line (controls and raw non-ASCII are the malformed corpus's). */
const wirePath = hostilePath.filter((path) => /^[\x21-\x7e]+$/.test(path));

const KNOWN = [
  '/%252fadmin',
  '/%2561dmin',
  '/x/%252e%252e/admin',
  '/x/..;/admin',
  '/;x/admin',
  '/.;/admin',
  '/admin;x',
  '/admin.',
  '/admin./',
  '/.../admin',
  '/%C0%AFadmin',
  '/x/%C0%AE%C0%AE/admin',
  '/x%5C..%5Cadmin',
  '/rspamd..;/',
  '/api/emails;/x',
  '/%25%32%66admin',
];

describe('path differential: gateway + Mailcow-like nginx vs a lenient second parser', () => {
  it('no generated path reaches a guarded location through a public route', async () => {
    const seed = Date.now() ^ 0x5eed;
    const generated = fc.sample(wirePath, { numRuns: 12_000, seed });
    const outcomes = await sendAll([...KNOWN, ...generated]);
    const counts = { forwarded: 0, refused: 0, denied: 0 };
    const leaks: string[] = [];
    for (const { path, status, body } of outcomes) {
      const canonical = canonicalizeTarget(path);
      if (status === 400) {
        counts.refused++;
        expect(typeof canonical, `seed ${seed}: ${path} refused`).toBe('string');
        continue;
      }
      if (status === 401 || status === 403) {
        counts.denied++;
        continue;
      }
      counts.forwarded++;
      expect(status, `seed ${seed}: ${path}`).toBe(200);
      const [answer, received = ''] = body.split(' ');
      if (typeof canonical === 'string') throw new Error(`seed ${seed}: ${path} forwarded but ${canonical}`);
      // The upstream received exactly the canonical target the gateway routed on.
      expect(received, `seed ${seed}: ${path}`).toBe(canonical.path + canonical.query);
      const guarded = guardedReading(received.split('?')[0] as string);
      if (answer !== 'public' || guarded) leaks.push(`${path} -> ${received} (${answer}, ${guarded})`);
    }
    expect(leaks, `seed ${seed}`).toEqual([]);
    // Not vacuous: every kind of outcome is well represented.
    expect(outcomes.length).toBeGreaterThanOrEqual(10_000);
    expect(counts.forwarded).toBeGreaterThan(1_000);
    expect(counts.refused).toBeGreaterThan(1_000);
    expect(counts.denied).toBeGreaterThan(100);
    // The gateway is still serving.
    expect((await send('/SOGo/')).body).toBe('public /SOGo/');
  }, 180_000);

  it('the known bypasses are refused or routed to the guarded plane', async () => {
    const outcomes = await sendAll(KNOWN);
    for (const { path, status } of outcomes) expect([400, 401, 403], path).toContain(status);
    const log = await gw.logLines('path_double_encoding');
    const reasons = new Set(log.map((line) => line.reason));
    for (const reason of [
      'path_double_encoding',
      'path_dot_segment',
      'path_path_parameter',
      'path_invalid_utf8',
    ])
      expect(reasons).toContain(reason);
  });

  it('a stripPrefix route forwards what follows its segments, whatever parameters or dots they carry', async () => {
    const outcomes = await sendAll([
      '/app/x',
      '/app;v=1/x',
      '/App./x?q=1',
      '/app..;v=1/x/',
      '/app;v=1',
      '/app',
    ]);
    expect(outcomes.map(({ body }) => body)).toEqual([
      'public /x',
      'public /x',
      'public /x?q=1',
      'public /x/',
      'public /',
      'public /',
    ]);
  });

  it('the lenient reading finds what each bypass aims at', () => {
    expect(lenientReading('/%252fadmin')).toBe('/admin');
    expect(lenientReading('/x/..;/admin')).toBe('/admin');
    expect(lenientReading('/;x/admin')).toBe('/admin');
    expect(lenientReading('/%C0%AFadmin')).toBe('/admin');
    expect(lenientReading('/x%5C..%5Cadmin')).toBe('/admin');
    expect(lenientReading('/admin.')).toBe('/admin');
    expect(lenientReading('/SOGo/so/')).toBe('/sogo/so');
  });
});
