import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueClientCertificate } from '../../certs/issue-client.js';
import { revokeCertificate } from '../../certs/revoke.js';
import { type Database, openDatabase } from '../../store/database.js';
import { issueToken } from '../../tokens/issue-token.js';
import { revokeToken } from '../../tokens/revoke-token.js';
import { addPeer } from '../../wireguard/add-peer.js';
import { parseWireGuardCidr } from '../../wireguard/address-pool.js';
import { parseEndpoint } from '../../wireguard/endpoint.js';
import { initServer } from '../../wireguard/init-server.js';
import { tool } from '../helpers/ca-fixture.js';
import { runCli } from '../helpers/cli.js';
import { type EchoUpstream, startEchoUpstream } from '../helpers/echo-upstream.js';
import { eventually } from '../helpers/eventually.js';
import { rawGet, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { tempDir } from '../helpers/temp-store.js';

const ISSUER = 'https://mail.example.test';
const DAY_MS = 86_400_000;

let root: string;
let echo: EchoUpstream;
let source: TestGateway;
let restored: TestGateway | undefined;
let db: Database;
const certs: Record<'keep' | 'early' | 'during', { serial: string; file: string }> = {} as never;
let token: string;
let revokedToken: string;
let archive: string;
let restoredDir: string;
/** Statuses of the requests served while the backup ran. */
const served: number[] = [];

const gatewayConfig = (url: string) => ({
  publicUrl: ISSUER,
  upstreams: { templates: { url } },
  routes: [
    { path: '/api/emails', upstream: 'templates', auth: 'token', scopes: ['send'] },
    { path: '/', upstream: 'templates', auth: 'public' },
  ],
});

const send = (port: number, bearer: string) =>
  rawGet(port, '/api/emails', { authorization: `Bearer ${bearer}` });

/** Everything in a folder, path -> SHA-256 (recursive), to prove that nothing changed. */
function fingerprint(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const path = join(entry.parentPath, entry.name);
    out[path] = entry.isFile() ? createHash('sha256').update(readFileSync(path)).digest('hex') : 'dir';
  }
  return out;
}

beforeAll(async () => {
  root = tempDir('mailgate-backup-');
  echo = await startEchoUpstream();
  const dataDir = join(root, 'data');
  source = await startTestGateway(gatewayConfig(echo.url), dataDir);
  db = openDatabase(dataDir);
  for (const name of ['keep', 'early', 'during'] as const) {
    const issued = await issueClientCertificate(db, dataDir, {
      name,
      role: 'admin',
      days: 30,
      actor: 'test',
    });
    const file = join(root, `${name}.crt.pem`);
    writeFileSync(file, issued.certPem);
    certs[name] = { serial: issued.serial, file };
  }
  const tokenOptions = { ttlMs: DAY_MS, issuer: ISSUER, audience: 'mailgate', actor: 'test' };
  // A daily quota makes every request write usage rows: the backup runs against a busy writer.
  const limits = { rate: { count: 100_000, perMs: 60_000 }, quotaPerDay: 100_000 };
  token = (await issueToken(db, { app: 'shop', scopes: ['send'], ...limits, ...tokenOptions })).token;
  const doomed = await issueToken(db, { app: 'old', scopes: ['send'], ...tokenOptions });
  revokeToken(db, doomed.id, 'test');
  revokedToken = doomed.token;
  initServer(db, {
    endpoint: parseEndpoint('vpn.example.test:51820'),
    cidr: parseWireGuardCidr('10.8.0.0/24'),
    actor: 'test',
  });
  addPeer(db, { name: 'laptop' }, 'test');

  // The gateway picks up store changes made by other connections within a second.
  await eventually(async () => expect((await send(source.port, token)).status).toBe(200), 3_000);

  // Traffic runs for the whole backup window, with one revocation before the backup and one during it.
  let running = true;
  const traffic = (async () => {
    while (running) served.push((await send(source.port, token)).status);
  })();
  await new Promise((resolve) => setTimeout(resolve, 100));
  revokeCertificate(db, dataDir, certs.early.serial, 'keyCompromise', 'test', { crlDays: 7 });
  archive = join(root, 'backups', 'mailgate.mgbak');
  mkdirSync(join(root, 'backups'));
  const [backup, revoke] = await Promise.all([
    runCli(['backup', '--out', archive], { dataDir }),
    runCli(['ca', 'revoke', certs.during.serial], { dataDir }),
  ]);
  running = false;
  await traffic;
  expect(backup.stderr).toContain('backed up');
  expect(backup.code).toBe(0);
  expect(revoke.code).toBe(0);

  restoredDir = join(root, 'restored', 'data');
  const restore = await runCli(['restore', archive, '--data-dir', restoredDir]);
  expect(restore.stderr).toContain('restored the backup');
  expect(restore.code).toBe(0);
}, 60_000);

afterAll(async () => {
  await restored?.close();
  await source?.close();
  db?.close();
  await echo?.close();
});

describe('backup while the gateway serves traffic, restored into a new data dir', () => {
  it('kept serving during the backup and wrote a private archive, audited in the source', () => {
    expect(served.length).toBeGreaterThan(5);
    expect([...new Set(served)]).toEqual([200]);
    expect(statSync(archive).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(root, 'backups'))).toEqual(['mailgate.mgbak']);
    const row = db.prepare("SELECT target FROM audit WHERE action = 'store.backup'").get();
    expect(row).toEqual({ target: archive });
  });

  it('restores a private data dir whose database was audited with the restore', () => {
    expect(statSync(restoredDir).mode & 0o777).toBe(0o700);
    expect(statSync(join(restoredDir, 'ca')).mode & 0o777).toBe(0o700);
    for (const file of ['mailgate.db', 'ca/ca.key.pem', 'ca/ca.crt.pem', 'tls/server.key.pem']) {
      expect(statSync(join(restoredDir, file)).mode & 0o777).toBe(0o600);
    }
    expect(readdirSync(join(root, 'restored'))).toEqual(['data']);
    const copy = new BetterSqlite3(join(restoredDir, 'mailgate.db'), { readonly: true });
    const actions = copy.prepare('SELECT action FROM audit ORDER BY id').pluck().all();
    copy.close();
    expect(actions.at(-1)).toBe('store.restore');
    expect(actions).not.toContain('store.backup');
  });

  it('keeps the CA: openssl verify accepts the valid certificate with the restored CA certificate', () => {
    const caFile = join(restoredDir, 'ca', 'ca.crt.pem');
    const verified = tool('openssl', ['verify', '-CAfile', caFile, '-purpose', 'sslclient', certs.keep.file]);
    expect(verified.out).toContain(': OK');
    expect(readFileSync(caFile, 'utf8')).toBe(source.caPem);
  });

  it('regenerates a CRL signed by the restored CA that lists the revocations of the snapshot', async () => {
    const crl = await runCli(['ca', 'crl'], { dataDir: restoredDir });
    expect(crl.code).toBe(0);
    const crlFile = join(restoredDir, 'ca', 'crl.pem');
    const caFile = join(restoredDir, 'ca', 'ca.crt.pem');
    expect(tool('openssl', ['crl', '-in', crlFile, '-CAfile', caFile, '-noout']).out).toContain('verify OK');
    const listed = tool('openssl', ['crl', '-in', crlFile, '-noout', '-text']).stdout.toLowerCase();
    expect(listed).toContain(certs.early.serial);
    const check = (file: string) =>
      tool('openssl', ['verify', '-crl_check', '-CRLfile', crlFile, '-CAfile', caFile, file]);
    expect(check(certs.keep.file).code).toBe(0);
    expect(check(certs.early.file).out).toContain('certificate revoked');
    // The revocation that raced the backup is in the snapshot or not, but CRL and store always agree.
    const copy = new BetterSqlite3(join(restoredDir, 'mailgate.db'), { readonly: true });
    const during = copy
      .prepare('SELECT revoked_at FROM certificates WHERE serial = ?')
      .get(certs.during.serial) as {
      revoked_at: number | null;
    };
    copy.close();
    expect(listed.includes(certs.during.serial)).toBe(during.revoked_at !== null);
  });

  it('accepts the existing token (restored signing keys) and still refuses the revoked one', async () => {
    restored = await startTestGateway(gatewayConfig(echo.url), restoredDir);
    expect((await send(restored.port, token)).status).toBe(200);
    expect((await send(restored.port, revokedToken)).status).toBe(401);
  });

  it('keeps the WireGuard peers', async () => {
    const list = await runCli(['wg', 'list', '--json'], { dataDir: restoredDir });
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout)).toEqual([
      expect.objectContaining({ name: 'laptop', address: '10.8.0.2' }),
    ]);
  });
});

describe('restore refuses what it must not do, and changes nothing', () => {
  it('refuses a non-empty data dir without --force, and replaces it with --force', async () => {
    const target = join(root, 'occupied');
    mkdirSync(target);
    writeFileSync(join(target, 'notes.txt'), 'mine');
    const before = fingerprint(target);
    const refused = await runCli(['restore', archive], { dataDir: target });
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(refused.stderr).toContain('is not empty');
    expect(fingerprint(target)).toEqual(before);
    expect(readdirSync(root).filter((name) => name.startsWith('.'))).toEqual([]);

    const forced = await runCli(['restore', archive, '--force', '--json'], { dataDir: target });
    expect(forced.code).toBe(0);
    expect(JSON.parse(forced.stdout)).toMatchObject({ dataDir: target, replaced: true });
    expect(existsSync(join(target, 'notes.txt'))).toBe(false);
    expect(existsSync(join(target, 'mailgate.db'))).toBe(true);
    expect(readdirSync(root).filter((name) => name.startsWith('.'))).toEqual([]);
  });

  it.each([
    [
      'a flipped byte',
      (data: Buffer) =>
        Buffer.concat([data.subarray(0, 100), Buffer.from([data[100]! ^ 0xff]), data.subarray(101)]),
    ],
    ['a truncated file', (data: Buffer) => data.subarray(0, data.length >> 1)],
    ['something else', () => Buffer.from('not a backup')],
  ])('refuses an archive with %s and writes nothing', async (_what, damage) => {
    const bad = join(root, 'bad.mgbak');
    writeFileSync(bad, damage(readFileSync(archive)));
    const parent = join(root, 'fresh');
    mkdirSync(parent, { recursive: true });
    const run = await runCli(['restore', bad], { dataDir: join(parent, 'data') });
    expect(run.code).toBe(1);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toContain('is not a usable mailgate backup');
    expect(readdirSync(parent)).toEqual([]);
  });
});
