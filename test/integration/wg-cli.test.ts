import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { beforeEach, describe, expect, it } from 'vitest';
import type { FlagValues } from '../../cli/command-spec.js';
import { wgAdd, wgInit, wgList, wgRemove, wgServerConfig, wgSetEnabled } from '../../cli/commands/wg.js';
import type { CliContext } from '../../cli/context.js';
import { MailgateError, UsageError } from '../../lib/errors.js';
import { addPeer } from '../../wireguard/add-peer.js';
import { wireguardRange } from '../../wireguard/server-config.js';
import { CLI_MAIN, runCli } from '../helpers/cli.js';
import { cliContext } from '../helpers/cli-context.js';
import { tempDir, withDatabase } from '../helpers/temp-store.js';

let dataDir: string;
beforeEach(() => {
  dataDir = join(tempDir('mailgate-wg-cli-'), 'data');
});

type Command = (flags: FlagValues, positionals: string[], ctx: CliContext) => Promise<void>;
const wgDisable: Command = (f, p, ctx) => wgSetEnabled(f, p, ctx, false);
const wgEnable: Command = (f, p, ctx) => wgSetEnabled(f, p, ctx, true);

async function run(command: Command, flags: FlagValues = {}, positionals: string[] = [], json = false) {
  const ctx = cliContext({ dataDir, json });
  await command(flags, positionals, ctx);
  return ctx;
}

async function failure(command: Command, flags: FlagValues = {}, positionals: string[] = []) {
  try {
    await run(command, flags, positionals);
  } catch (error) {
    if (error instanceof MailgateError) return error;
    throw error;
  }
  throw new Error('expected the command to fail');
}

/** Everything a WireGuard command could change: the rows of both tables, the audit trail, files. */
function snapshot() {
  const file = join(dataDir, 'mailgate.db');
  if (!existsSync(file)) return { dataDir: existsSync(dataDir) };
  const db = new BetterSqlite3(file, { readonly: true });
  try {
    return {
      server: db.prepare('SELECT * FROM wg_server').all(),
      peers: db.prepare('SELECT * FROM wg_peers ORDER BY name').all(),
      audit: db.prepare('SELECT action, target FROM audit ORDER BY id').all(),
      files: readdirSync(join(dataDir, '..')).sort(),
    };
  } finally {
    db.close();
  }
}

async function initialised(cidr = '10.8.0.0/24') {
  await run(wgInit, { endpoint: 'vpn.example.com:51820', cidr });
}

describe('wg init', () => {
  it('creates the server on the first host and audits it', async () => {
    const ctx = await run(wgInit, { endpoint: 'vpn.example.com:51820' }, [], true);
    const out = JSON.parse(ctx.stdout[0]!);
    expect(out).toMatchObject({
      endpoint: 'vpn.example.com:51820',
      cidr: '10.8.0.0/24',
      address: '10.8.0.1',
      listenPort: 51820,
    });
    expect(snapshot()).toMatchObject({ audit: [{ action: 'wg.init', target: '10.8.0.1' }] });
    expect(withDatabase(dataDir, wireguardRange)).toEqual({
      address: '10.8.0.0',
      prefix: 24,
      family: 'ipv4',
    });
  });

  it.each([
    [{}, '--endpoint is required'],
    [{ endpoint: 'vpn.example.com' }, '--endpoint must be HOST:PORT'],
    [{ endpoint: 'vpn.example.com:0' }, '--endpoint: port must be 1-65535'],
    [{ endpoint: 'vpn.example.com:70000' }, '--endpoint: port must be 1-65535'],
    [{ endpoint: 'bad host:51820' }, '--endpoint must be HOST:PORT'],
    [{ endpoint: 'vpn.example.com:51820', cidr: '10.8.0.0' }, '--cidr must be an IPv4 range'],
    [{ endpoint: 'vpn.example.com:51820', cidr: '10.8.0.1/24' }, 'did you mean 10.8.0.0/24?'],
    [{ endpoint: 'vpn.example.com:51820', cidr: '10.8.0.0/31' }, '--cidr: the prefix must be /8 to /30'],
    [{ endpoint: 'vpn.example.com:51820', 'listen-port': '0' }, '--listen-port must be a whole number'],
  ])('refuses %j as a usage error without creating anything', async (flags, message) => {
    const error = await failure(wgInit, flags);
    expect(error).toBeInstanceOf(UsageError);
    expect(error.message).toContain(message);
    expect(snapshot()).toEqual({ dataDir: false });
  });

  it('refuses a second init without --force and keeps the server', async () => {
    await initialised();
    const before = snapshot();
    const error = await failure(wgInit, { endpoint: 'other.example.com:51820' });
    expect(error.code).toBe('ERR_CONFLICT');
    expect(error.message).toContain('--force');
    expect(snapshot()).toEqual(before);
  });

  it('replaces the server with --force and removes the peers bound to its old key', async () => {
    await initialised();
    await run(wgAdd, {}, ['alice']);
    const ctx = await run(
      wgInit,
      { endpoint: 'vpn.example.com:443', cidr: '10.20.0.0/16', force: true },
      [],
      true,
    );
    expect(JSON.parse(ctx.stdout[0]!)).toMatchObject({
      cidr: '10.20.0.0/16',
      listenPort: 443,
      removedPeers: 1,
    });
    expect(snapshot()).toMatchObject({ peers: [] });
  });
});

describe('wg add', () => {
  it('prints the config, stores the peer without its private key and audits it', async () => {
    await initialised();
    const ctx = await run(wgAdd, { dns: '10.8.0.1' }, ['alice']);
    const config = ctx.stdout[0]!;
    expect(config).toContain('Address = 10.8.0.2/32\nDNS = 10.8.0.1\n');
    const privateKey = /^PrivateKey = (.*)$/m.exec(config)![1]!;
    const state = snapshot() as { peers: Record<string, unknown>[]; audit: unknown[] };
    expect(JSON.stringify(state)).not.toContain(privateKey);
    expect(state.peers[0]).toMatchObject({
      name: 'alice',
      address: '10.8.0.2',
      disabled: 0,
      expires_at: null,
    });
    expect(state.audit).toContainEqual({ action: 'wg.add', target: 'alice' });
  });

  it('prints {name, address, publicKey, config} with --json', async () => {
    await initialised();
    const ctx = await run(wgAdd, { 'route-public': '203.0.113.7' }, ['alice'], true);
    const out = JSON.parse(ctx.stdout.join(''));
    expect(out).toMatchObject({ name: 'alice', address: '10.8.0.2' });
    expect(out.publicKey).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(out.config).toContain('AllowedIPs = 10.8.0.0/24, 203.0.113.7/32\n');
  });

  it('writes NAME.conf and NAME.png (0600) with --qr --out and draws the QR code on stderr', async () => {
    await initialised();
    const out = join(dataDir, '..', 'out');
    const ctx = await run(wgAdd, { qr: true, out }, ['alice']);
    expect(readFileSync(join(out, 'alice.conf'), 'utf8')).toBe(ctx.stdout[0]);
    expect(statSync(join(out, 'alice.conf')).mode & 0o777).toBe(0o600);
    expect(statSync(join(out, 'alice.png')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(out, 'alice.png')).subarray(1, 4).toString()).toBe('PNG');
    expect(ctx.stderr[0]).toMatch(/[█▀▄]/);
  });

  it('refuses before wg init, without creating the data dir', async () => {
    const error = await failure(wgAdd, {}, ['alice']);
    expect(error.code).toBe('ERR_NOT_FOUND');
    expect(error.message).toBe("no WireGuard server yet: run 'mailgate wg init' first");
    expect(snapshot()).toEqual({ dataDir: false });
  });

  it.each([
    [{}, ['../evil'], 'peer NAME must be'],
    [{}, ['a b'], 'peer NAME must be'],
    [{ dns: '10.8.0.1,dns.example.com' }, ['alice'], "--dns must be an IP address, got 'dns.example.com'"],
    [{ 'route-public': 'mail.example.com' }, ['alice'], '--route-public must be an IP address'],
    [{ expires: 'soon' }, ['alice'], '--expires must be a duration'],
  ])('refuses %j %j as a usage error and changes nothing', async (flags, positionals, message) => {
    await initialised();
    const before = snapshot();
    const error = await failure(wgAdd, flags, positionals);
    expect(error).toBeInstanceOf(UsageError);
    expect(error.message).toContain(message);
    expect(snapshot()).toEqual(before);
  });

  it('refuses a duplicate name and changes nothing', async () => {
    await initialised();
    await run(wgAdd, {}, ['alice']);
    const before = snapshot();
    const error = await failure(wgAdd, {}, ['alice']);
    expect(error.code).toBe('ERR_CONFLICT');
    expect(error.message).toBe("a WireGuard peer named 'alice' already exists");
    expect(snapshot()).toEqual(before);
  });

  it('fills a /29 from first to last host, refuses when full and reuses a removed address', async () => {
    await initialised('10.8.0.0/29');
    const addresses: string[] = [];
    for (const name of ['p2', 'p3', 'p4', 'p5', 'p6']) {
      addresses.push(JSON.parse((await run(wgAdd, {}, [name], true)).stdout[0]!).address);
    }
    expect(addresses).toEqual(['10.8.0.2', '10.8.0.3', '10.8.0.4', '10.8.0.5', '10.8.0.6']);
    const before = snapshot();
    const error = await failure(wgAdd, {}, ['p7']);
    expect(error.code).toBe('ERR_CONFLICT');
    expect(error.message).toBe('the WireGuard range 10.8.0.0/29 is full (5 peers): remove a peer first');
    expect(snapshot()).toEqual(before);
    await run(wgRemove, {}, ['p4']);
    expect(JSON.parse((await run(wgAdd, {}, ['p7'], true)).stdout[0]!).address).toBe('10.8.0.4');
  });

  it('refuses to overwrite an existing NAME.conf and stores no peer', async () => {
    await initialised();
    const out = join(dataDir, '..', 'out');
    mkdirSync(out);
    writeFileSync(join(out, 'alice.conf'), 'mine');
    const before = snapshot();
    const error = await failure(wgAdd, { out }, ['alice']);
    expect(error.code).toBe('ERR_CONFLICT');
    expect(error.message).toContain('alice.conf exists');
    expect(snapshot()).toEqual(before);
    expect(readFileSync(join(out, 'alice.conf'), 'utf8')).toBe('mine');
  });

  it('refuses an --out that is not a directory and stores no peer', async () => {
    await initialised();
    const notADir = join(dataDir, '..', 'plain-file');
    writeFileSync(notADir, '');
    const before = snapshot();
    const error = await failure(wgAdd, { out: notADir, qr: true }, ['alice']);
    expect(error.code).toBe('ERR_FILE');
    expect(error.message).toBe(`--out: ${notADir} exists and is not a directory`);
    expect(snapshot()).toEqual(before);
  });

  it('rolls the peer back when its files cannot be written', async () => {
    await initialised();
    const before = snapshot();
    // procfs refuses new files even for root, so the write fails after the peer row was inserted.
    const error = await failure(wgAdd, { out: '/proc/self', qr: true }, ['alice']);
    expect(error.code).toBe('ERR_FILE');
    expect(error.message).toContain('cannot write /proc/self/alice.conf');
    expect(snapshot()).toEqual(before);
  });
});

describe('wg list, disable, enable, remove, server-config', () => {
  it('shows status, leaves disabled and expired peers out of the server config', async () => {
    await initialised();
    await run(wgAdd, {}, ['alice']);
    await run(wgAdd, {}, ['bob']);
    withDatabase(dataDir, (db) =>
      addPeer(db, { name: 'old', expiresInMs: 1_000, now: Date.now() - 60_000 }, 'test'),
    );
    await run(wgDisable, {}, ['bob']);
    const list = JSON.parse((await run(wgList, {}, [], true)).stdout[0]!);
    expect(list.map((p: { name: string; status: string }) => [p.name, p.status])).toEqual([
      ['alice', 'active'],
      ['bob', 'disabled'],
      ['old', 'expired'],
    ]);
    const table = (await run(wgList)).stdout[0]!;
    expect(table).toMatch(/^NAME\s+ADDRESS\s+STATUS/);
    expect(table).toMatch(/^bob\s+10\.8\.0\.3\s+disabled\s+never/m);
    const config = (await run(wgServerConfig)).stdout[0]!;
    expect(config.match(/\[Peer\]/g)).toHaveLength(1);
    expect(config).toContain('# alice\n');
    await run(wgEnable, {}, ['bob']);
    expect((await run(wgServerConfig)).stdout[0]!).toContain('# bob\n');
    expect(snapshot()).toMatchObject({
      audit: expect.arrayContaining([
        { action: 'wg.disable', target: 'bob' },
        { action: 'wg.enable', target: 'bob' },
      ]),
    });
  });

  it('writes the server config 0600 with --out', async () => {
    await initialised();
    const file = join(dataDir, '..', 'wg0.conf');
    await run(wgServerConfig, { out: file });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).toContain('ListenPort = 51820');
  });

  it('reports unknown peers and a missing server as not found', async () => {
    expect((await failure(wgList)).message).toContain("run 'mailgate wg init' first");
    expect((await failure(wgServerConfig)).message).toContain("run 'mailgate wg init' first");
    await initialised();
    const before = snapshot();
    const error = await failure(wgRemove, {}, ['nobody']);
    expect(error.code).toBe('ERR_NOT_FOUND');
    expect(error.message).toBe("no WireGuard peer named 'nobody'");
    expect(snapshot()).toEqual(before);
  });
});

describe.skipIf(!existsSync(CLI_MAIN))('the real mailgate binary', () => {
  const mailgate = (args: string[]) => runCli(args, { dataDir });

  it('exits 2 with one line naming --endpoint for a bad endpoint', async () => {
    const result = await mailgate(['wg', 'init', '--endpoint', 'vpn.example.com:99999']);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe("mailgate: --endpoint: port must be 1-65535, got 'vpn.example.com:99999'\n");
  });

  it('exits 1 before wg init and 0 once initialised, printing a config wg-quick accepts', async () => {
    const missing = await mailgate(['wg', 'add', 'alice']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe("mailgate: no WireGuard server yet: run 'mailgate wg init' first\n");
    expect((await mailgate(['wg', 'init', '--endpoint', 'vpn.example.com:51820'])).code).toBe(0);
    const added = await mailgate(['wg', 'add', 'alice']);
    expect(added.code).toBe(0);
    const confDir = join(dataDir, '..', 'conf');
    mkdirSync(confDir);
    writeFileSync(join(confDir, 'wg0.conf'), added.stdout, { mode: 0o600 });
    expect(execFileSync('wg-quick', ['strip', join(confDir, 'wg0.conf')], { encoding: 'utf8' })).toContain(
      'PersistentKeepalive = 25',
    );
    const duplicate = await mailgate(['wg', 'add', 'alice']);
    expect(duplicate.code).toBe(1);
    expect(duplicate.stderr).toBe("mailgate: a WireGuard peer named 'alice' already exists\n");
  });
});
