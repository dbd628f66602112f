/**
 * TLS profiles (tls.profile) audited with Debian's sslscan and testssl.sh and probed with openssl
 * s_client, and HSTS (tls.hsts) on h1 and h2, never twice.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect as h2connect } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { h2Request, rawGet, startTestGateway, type TestGateway } from '../helpers/gateway.js';

const run = promisify(execFile);

let upstream: Server;
let upstreamUrl: string;
const gateways: TestGateway[] = [];

beforeAll(async () => {
  // Answers 200; on /own-hsts with its own Strict-Transport-Security, as Mailcow's nginx does.
  upstream = createServer((req, res) => {
    if (req.url === '/own-hsts') res.setHeader('strict-transport-security', 'max-age=15768000');
    res.end('ok');
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const gw of gateways) await gw.close();
  await new Promise((resolve) => upstream?.close(resolve));
});

async function gateway(tls: Record<string, unknown>): Promise<TestGateway> {
  const gw = await startTestGateway({
    tls,
    upstreams: { app: { url: upstreamUrl } },
    routes: [
      { path: '/admin', upstream: 'app', auth: 'admin' },
      { path: '/', upstream: 'app', auth: 'public' },
    ],
  });
  gateways.push(gw);
  return gw;
}

/** openssl s_client's verdict: did the handshake complete, and with which protocol and cipher. */
async function handshake(port: number, ...args: string[]) {
  const pending = run(
    'openssl',
    ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'localhost', ...args],
    { timeout: 20_000 },
  );
  // s_client reads stdin until EOF before it quits.
  pending.child.stdin?.end();
  const result = await pending.catch((error: { stdout?: string; stderr?: string }) => error);
  const text = `${result.stdout ?? ''}${result.stderr ?? ''}`;
  const session = /New, (TLSv1\.\d), Cipher is (\S+)/.exec(text);
  return { ok: session !== null && session[2] !== '(NONE)', protocol: session?.[1], cipher: session?.[2] };
}

interface SslscanResult {
  protocols: Record<string, boolean>;
  ciphers: Array<{ protocol: string; name: string }>;
  text: string;
}

async function sslscan(port: number): Promise<SslscanResult> {
  const { stdout } = await run('sslscan', ['--no-colour', '--no-fallback', `127.0.0.1:${port}`], {
    timeout: 120_000,
  });
  const protocols: Record<string, boolean> = {};
  for (const match of stdout.matchAll(/^(SSLv[23]|TLSv1\.[0-3])\s+(enabled|disabled)/gm))
    protocols[match[1] as string] = match[2] === 'enabled';
  const ciphers = [
    ...stdout.matchAll(/^(?:Preferred|Accepted)\s+(TLSv1\.[0-3]|SSLv[23])\s+\d+ bits\s+(\S+)/gm),
  ].map((match) => ({ protocol: match[1] as string, name: match[2] as string }));
  return { protocols, ciphers, text: stdout };
}

/** TLS 1.2 suites allowed by the intermediate profile: ECDHE key exchange, AEAD (GCM or ChaCha20). */
const FORWARD_SECRET_AEAD = /^ECDHE-(ECDSA|RSA)-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)$/;

describe('tls.profile: intermediate (the default)', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await gateway({});
  });

  it('sslscan: TLS 1.2 and 1.3 only, every TLS 1.2 suite ECDHE + AEAD, no compression or heartbleed', async () => {
    const scan = await sslscan(gw.port);
    expect(scan.protocols).toEqual({
      SSLv2: false,
      SSLv3: false,
      'TLSv1.0': false,
      'TLSv1.1': false,
      'TLSv1.2': true,
      'TLSv1.3': true,
    });
    expect(scan.ciphers.length).toBeGreaterThanOrEqual(4);
    for (const { protocol, name } of scan.ciphers) {
      if (protocol === 'TLSv1.3')
        expect(name).toMatch(/^TLS_(AES_(128|256)_GCM_SHA(256|384)|CHACHA20_POLY1305_SHA256)$/);
      else {
        expect(protocol).toBe('TLSv1.2');
        expect(name).toMatch(FORWARD_SECRET_AEAD);
      }
    }
    expect(scan.text).not.toMatch(/Compression enabled/);
    expect(scan.text).not.toMatch(/Insecure session renegotiation supported/);
    expect(scan.text).toMatch(/TLSv1\.2 not vulnerable to heartbleed/);
  }, 150_000);

  it('testssl.sh flags nothing in protocols, ciphers, forward secrecy and vulnerabilities', async () => {
    const jsonFile = join(gw.root, 'testssl.json');
    await run(
      'testssl',
      [
        '--quiet',
        '--color',
        '0',
        '--warnings',
        'off',
        '--jsonfile',
        jsonFile,
        '-p',
        '-s',
        '-f',
        '-U',
        `127.0.0.1:${gw.port}`,
      ],
      { timeout: 600_000, maxBuffer: 16 * 1024 * 1024 },
    ).catch(() => {}); // its exit code counts findings of any kind; the JSON says which
    const json = readFileSync(jsonFile, 'utf8');
    const findings = JSON.parse(json) as Array<{ id: string; severity: string; finding: string }>;
    expect(findings.length).toBeGreaterThan(20);
    const flagged = findings.filter(({ severity }) =>
      ['LOW', 'MEDIUM', 'HIGH', 'CRITICAL'].includes(severity),
    );
    expect(flagged).toEqual([]);
    const byId = new Map(findings.map((finding) => [finding.id, finding]));
    for (const id of ['LUCKY13', 'SWEET32', 'BEAST', 'POODLE_SSL', 'ROBOT', 'secure_client_renego'])
      expect(byId.get(id)?.severity, id).toBe('OK');
  }, 600_000);

  it('openssl s_client: AES128-SHA (CBC, RSA key exchange) fails, ECDHE-GCM and TLS 1.3 work, TLS 1.1 fails', async () => {
    expect((await handshake(gw.port, '-tls1_2', '-cipher', 'AES128-SHA')).ok).toBe(false);
    expect((await handshake(gw.port, '-tls1_2', '-cipher', 'ECDHE-RSA-AES128-SHA')).ok).toBe(false);
    expect((await handshake(gw.port, '-tls1_2', '-cipher', 'DHE-RSA-AES128-GCM-SHA256')).ok).toBe(false);
    expect(await handshake(gw.port, '-tls1_2')).toMatchObject({ ok: true, protocol: 'TLSv1.2' });
    expect(await handshake(gw.port, '-tls1_3')).toMatchObject({ ok: true, protocol: 'TLSv1.3' });
    expect((await handshake(gw.port, '-tls1_1', '-cipher', 'DEFAULT@SECLEVEL=0')).ok).toBe(false);
  }, 60_000);

  it('sends no Strict-Transport-Security unless tls.hsts is set', async () => {
    const response = await rawGet(gw.port, '/');
    expect(response.status).toBe(200);
    expect(response.headers['strict-transport-security']).toBeUndefined();
  });
});

describe('tls.profile: modern', () => {
  it('refuses TLS 1.2 and serves TLS 1.3', async () => {
    const gw = await gateway({ profile: 'modern' });
    expect((await handshake(gw.port, '-tls1_2')).ok).toBe(false);
    expect(await handshake(gw.port, '-tls1_3')).toMatchObject({ ok: true, protocol: 'TLSv1.3' });
    const scan = await sslscan(gw.port);
    expect(scan.protocols['TLSv1.2']).toBe(false);
    expect(scan.protocols['TLSv1.3']).toBe(true);
    expect((await rawGet(gw.port, '/')).status).toBe(200);
  }, 150_000);
});

describe('tls.hsts', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await gateway({ hsts: { maxAge: 63072000, includeSubDomains: true, preload: true } });
  });

  it('adds the header to proxied and gateway-written responses, on HTTP/1.1 and h2', async () => {
    const value = 'max-age=63072000; includeSubDomains; preload';
    expect((await rawGet(gw.port, '/')).headers['strict-transport-security']).toBe(value);
    // Refused by the gateway itself (no certificate): still over TLS, still this host.
    const denied = await rawGet(gw.port, '/admin');
    expect(denied.status).toBe(403);
    expect(denied.headers['strict-transport-security']).toBe(value);
    expect((await rawGet(gw.port, '/_mailgate/healthz')).headers['strict-transport-security']).toBe(value);
    expect((await h2Request(gw.port, { ':path': '/' })).headers['strict-transport-security']).toBe(value);
  });

  it("never duplicates the upstream's own header (h1 and h2)", async () => {
    const h1 = await rawGet(gw.port, '/own-hsts');
    expect(h1.raw.match(/strict-transport-security/gi)).toHaveLength(1);
    expect(h1.headers['strict-transport-security']).toBe('max-age=15768000');
    const rawHeaders = await new Promise<string[]>((resolve, reject) => {
      const session = h2connect(`https://127.0.0.1:${gw.port}`, {
        rejectUnauthorized: false,
        servername: 'localhost',
      });
      session.on('error', reject);
      const stream = session.request({ ':path': '/own-hsts', ':authority': 'localhost' });
      stream.on('response', (_headers: unknown, _flags: number, raw: string[]) => {
        stream.resume();
        stream.on('end', () => session.close());
        resolve(raw);
      });
      stream.on('error', reject);
    });
    const values = rawHeaders.filter(
      (_, i) => i % 2 === 1 && rawHeaders[i - 1] === 'strict-transport-security',
    );
    expect(values).toEqual(['max-age=15768000']);
  });
});
