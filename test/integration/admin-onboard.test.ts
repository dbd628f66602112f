import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onboardAdmin } from '../../admin/onboard.js';
import { type OutputFile, writeNewFile } from '../../admin/onboard-files.js';
import type { FlagValues } from '../../cli/command-spec.js';
import { adminOnboard } from '../../cli/commands/admin-onboard.js';
import { configSchema } from '../../gateway/config/schema.js';
import { FileError, type MailgateError } from '../../lib/errors.js';
import { openDatabase } from '../../store/database.js';
import { parseWireGuardCidr } from '../../wireguard/address-pool.js';
import { parseEndpoint } from '../../wireguard/endpoint.js';
import { initServer } from '../../wireguard/init-server.js';
import { createTestCa, type TestCa, tool } from '../helpers/ca-fixture.js';
import { runCli } from '../helpers/cli.js';
import { cliContext } from '../helpers/cli-context.js';

const PUBLIC_URL = 'https://mail.example.test';
const config = configSchema.parse({
  publicUrl: PUBLIC_URL,
  upstreams: { mailcow: { url: 'http://127.0.0.1:8080' } },
  routes: [{ path: '/', upstream: 'mailcow', auth: 'public' }],
});

let fixture: TestCa;
let n = 0;
/** A fresh output folder path (not created) under the fixture's root. */
const outDir = () => join(fixture.root, `out-${++n}`);

beforeAll(async () => {
  fixture = await createTestCa('mailgate-onboard-');
  initServer(fixture.db, {
    endpoint: parseEndpoint('vpn.example.test:51820'),
    cidr: parseWireGuardCidr('10.8.0.0/24'),
    actor: 'test',
  });
});
afterAll(() => fixture?.cleanup());

async function onboard(name: string, flags: FlagValues, json = true) {
  const ctx = cliContext({ dataDir: fixture.dataDir, json, config: () => config });
  await adminOnboard(flags, [name], ctx);
  return ctx;
}

/** Everything an onboarding could change in the store: certificates, peers and the audit trail. */
function storeState() {
  const db = new BetterSqlite3(join(fixture.dataDir, 'mailgate.db'), { readonly: true });
  try {
    return {
      certificates: db.prepare('SELECT serial, name FROM certificates ORDER BY serial').all(),
      peers: db.prepare('SELECT name, address FROM wg_peers ORDER BY name').all(),
      audit: db.prepare('SELECT id, action, target FROM audit ORDER BY id').all(),
    };
  } finally {
    db.close();
  }
}

const mode = (path: string) => statSync(path).mode & 0o777;

/** Onboards carol into `dir` through the given file writer (which injects a failure); returns what it threw. */
function onboardWritingWith(dir: string, writeFile: (file: OutputFile) => void): Promise<unknown> {
  const options = {
    name: 'carol',
    role: 'admin',
    days: 30,
    outDir: dir,
    adminUrl: `${PUBLIC_URL}/admin/`,
    actor: 'test',
  } as const;
  return onboardAdmin(fixture.db, fixture.dataDir, options, { writeFile }).catch((e: unknown) => e);
}

describe('admin onboard', () => {
  it('writes a bundle that pk12util, openssl verify and wg-quick accept, and records it in the store', async () => {
    const dir = outDir();
    const ctx = await onboard('alice', { out: dir });
    const result = JSON.parse(ctx.stdout[0]!);
    // The pool's next free address: 10.8.0.2 when alice is the first peer (other tests may run before).
    expect(result).toMatchObject({
      name: 'alice',
      role: 'admin',
      address: expect.stringMatching(/^10\.8\.0\.\d+$/),
    });
    expect(result.password).toMatch(/^[a-z2-9]{5}(-[a-z2-9]{5}){3}$/);
    const { files, password } = result;
    // One protected credential: the p12, and no unencrypted key beside it (issue 12).
    expect(Object.keys(files).sort()).toEqual(['ca', 'cert', 'conf', 'guide', 'p12', 'png']);
    expect(readdirSync(dir).sort()).toEqual(
      ['README.txt', 'alice.conf', 'alice.crt.pem', 'alice.p12', 'alice.png', 'mailgate-ca.pem'].sort(),
    );
    expect(mode(dir)).toBe(0o700);
    for (const kind of ['p12', 'conf', 'png']) expect(mode(files[kind])).toBe(0o600);

    const nss = join(fixture.root, 'nssdb');
    mkdirSync(nss);
    expect(tool('certutil', ['-N', '-d', `sql:${nss}`, '--empty-password']).code).toBe(0);
    const imported = tool('pk12util', ['-i', files.p12, '-d', `sql:${nss}`, '-W', password]);
    expect(imported.out).toContain('PKCS12 IMPORT SUCCESSFUL');
    expect(imported.code).toBe(0);
    expect(tool('certutil', ['-L', '-d', `sql:${nss}`, '-n', 'alice']).code).toBe(0);
    expect(tool('pk12util', ['-l', files.p12, '-W', 'wrong-password']).code).not.toBe(0);

    const verified = tool('openssl', ['verify', '-CAfile', files.ca, '-purpose', 'sslclient', files.cert]);
    expect(verified.out).toContain(': OK');
    expect(verified.code).toBe(0);

    const wg0 = join(fixture.root, 'wg0.conf');
    copyFileSync(files.conf, wg0);
    const stripped = tool('wg-quick', ['strip', wg0]);
    expect(stripped.code).toBe(0);
    expect(stripped.stdout).toContain('[Peer]');
    expect(readFileSync(files.png).subarray(0, 8)).toEqual(Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'));

    const guide = readFileSync(files.guide, 'utf8');
    expect(guide).toContain(`${PUBLIC_URL}/admin/`);
    expect(guide).toContain('alice.p12');
    expect(guide).not.toContain(password);

    const state = storeState();
    expect(state.certificates).toContainEqual({ serial: result.serial, name: 'alice' });
    expect(state.peers).toContainEqual({ name: 'alice', address: result.address });
    const actions = state.audit.map((row) => (row as { action: string }).action);
    expect(actions.slice(-3)).toEqual(['ca.issue', 'wg.add', 'admin.onboard']);
    const everything = JSON.stringify(fixture.db.prepare('SELECT * FROM audit').all());
    expect(everything).not.toContain(password);
  });

  it('real CLI: a password from --p12-password-file protects the p12 and is never printed; --with-pem-key adds the key', async () => {
    const dir = outDir();
    const secret = join(fixture.root, 'p12-secret');
    writeFileSync(secret, 'correct horse battery staple\n', { mode: 0o600 });
    const run = await runCli(['admin', 'onboard', 'fiona', '--out', dir, '--p12-password-file', secret], {
      dataDir: fixture.dataDir,
    });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe('');
    expect(run.stderr).not.toContain('correct horse');
    expect(run.stderr).toContain('protected with the password from the file');
    expect(existsSync(join(dir, 'fiona.key.pem'))).toBe(false);
    const opened = tool('openssl', [
      'pkcs12',
      '-in',
      join(dir, 'fiona.p12'),
      '-passin',
      `file:${secret}`,
      '-nokeys',
      '-legacy',
    ]);
    expect(opened.code, opened.out).toBe(0);
    expect(opened.stdout).toContain('BEGIN CERTIFICATE');
    const wrong = join(fixture.root, 'wrong-secret');
    writeFileSync(wrong, 'not it\n');
    expect(
      tool('openssl', [
        'pkcs12',
        '-in',
        join(dir, 'fiona.p12'),
        '-passin',
        `file:${wrong}`,
        '-nokeys',
        '-legacy',
      ]).code,
    ).not.toBe(0);
    expect(readFileSync(join(dir, 'README.txt'), 'utf8')).not.toContain('fiona.key.pem');

    const withKey = outDir();
    const keyed = await runCli(['admin', 'onboard', 'gina', '--out', withKey, '--with-pem-key'], {
      dataDir: fixture.dataDir,
    });
    expect(keyed.code, keyed.stderr).toBe(0);
    expect(keyed.stdout).toMatch(/^PKCS#12 password for gina: [a-z2-9-]{23}\n$/);
    expect(mode(join(withKey, 'gina.key.pem'))).toBe(0o600);
    expect(readFileSync(join(withKey, 'README.txt'), 'utf8')).toContain('gina.key.pem is not encrypted');
  });

  it('real CLI: ca issue client warns about --p12-password and takes --p12-password-file silently', async () => {
    const dir = outDir();
    mkdirSync(dir);
    const inline = await runCli(
      ['ca', 'issue', 'client', '--name', 'henry', '--out', dir, '--p12-password', 'pw-inline'],
      {
        dataDir: fixture.dataDir,
      },
    );
    expect(inline.code, inline.stderr).toBe(0);
    expect(inline.stderr).toMatch(/warning: --p12-password shows the password in the process list/);
    const secret = join(fixture.root, 'issue-secret');
    writeFileSync(secret, 'from-a-file\n', { mode: 0o600 });
    const fromFile = await runCli(
      ['ca', 'issue', 'client', '--name', 'irene', '--out', dir, '--p12-password-file', secret],
      {
        dataDir: fixture.dataDir,
      },
    );
    expect(fromFile.code, fromFile.stderr).toBe(0);
    expect(fromFile.stderr).not.toContain('warning');
    expect(
      tool('openssl', [
        'pkcs12',
        '-in',
        join(dir, 'irene.p12'),
        '-passin',
        `file:${secret}`,
        '-nokeys',
        '-legacy',
      ]).code,
    ).toBe(0);
  });

  it('prints the password once on stdout and the files on stderr, honouring role, email, dns and route-public', async () => {
    const dir = outDir();
    const ctx = await onboard(
      'bob',
      {
        out: dir,
        role: 'operator',
        email: 'bob@example.test',
        dns: '10.8.0.1',
        days: '30',
        'route-public': '203.0.113.10',
      },
      false,
    );
    expect(ctx.stdout).toHaveLength(1);
    const password = /^PKCS#12 password for bob: (\S+)$/.exec(ctx.stdout[0]!)![1]!;
    expect(ctx.stderr.join('\n')).not.toContain(password);
    expect(ctx.stderr.join('\n')).toContain(join(dir, 'README.txt'));
    const text = tool('openssl', ['x509', '-in', join(dir, 'bob.crt.pem'), '-noout', '-text']).stdout;
    expect(text).toContain('urn:mailgate:role:operator');
    expect(text).toContain('bob@example.test');
    expect(readFileSync(join(dir, 'bob.conf'), 'utf8')).toMatch(/^DNS = 10\.8\.0\.1$/m);
    // The public admin URL resolves to the server's public address: it must go through the tunnel too.
    expect(readFileSync(join(dir, 'bob.conf'), 'utf8')).toMatch(/^AllowedIPs = .*203\.0\.113\.10\/32/m);
    expect(tool('pk12util', ['-l', join(dir, 'bob.p12'), '-W', password]).code).toBe(0);
  });

  it('rolls everything back when a file write fails half-way: no peer, certificate, audit or files', async () => {
    const dir = outDir();
    const before = storeState();
    const written: string[] = [];
    const failingWriter = (file: OutputFile) => {
      if (written.length === 3) throw new FileError(`injected failure writing ${file.path}`);
      writeNewFile(file);
      written.push(file.path);
      // While the transaction is open the bundle is on disk, and other connections see nothing yet.
      expect(existsSync(file.path)).toBe(true);
      expect(storeState()).toEqual(before);
    };
    const error = await onboardWritingWith(dir, failingWriter);
    expect(error).toBeInstanceOf(FileError);
    expect(written).toHaveLength(3);
    for (const path of written) expect(existsSync(path)).toBe(false);
    expect(existsSync(dir)).toBe(false);
    expect(storeState()).toEqual(before);
    expect(fixture.db.inTransaction).toBe(false);
  });

  it('keeps an existing folder and its contents when the rollback removes the bundle', async () => {
    const dir = outDir();
    mkdirSync(dir);
    writeFileSync(join(dir, 'notes.txt'), 'mine');
    const before = storeState();
    let calls = 0;
    const error = await onboardWritingWith(dir, (file) => {
      if (++calls === 6) throw new FileError('injected');
      writeNewFile(file);
    });
    expect(error).toBeInstanceOf(FileError);
    expect(readdirSync(dir)).toEqual(['notes.txt']);
    expect(storeState()).toEqual(before);
  });

  it('rolls back on a real failure half-way: a dangling symlink where the QR code goes', async () => {
    const dir = outDir();
    mkdirSync(dir);
    // existsSync follows the link and sees nothing, so the pre-check passes; the write refuses to follow it.
    symlinkSync(join(fixture.root, 'nowhere'), join(dir, 'dave.png'));
    const before = storeState();
    const error = await onboard('dave', { out: dir }).catch((e: unknown) => e);
    expect((error as MailgateError).code).toBe('ERR_CONFLICT');
    expect(readdirSync(dir)).toEqual(['dave.png']);
    expect(existsSync(join(fixture.root, 'nowhere'))).toBe(false);
    expect(storeState()).toEqual(before);
  });

  it('without an output folder returns the bundle and writes no file, committing the same records', async () => {
    const before = storeState();
    const entriesBefore = readdirSync(fixture.root);
    const result = await onboardAdmin(fixture.db, fixture.dataDir, {
      name: 'erin',
      role: 'viewer',
      days: 30,
      adminUrl: `${PUBLIC_URL}/admin/`,
      actor: 'test',
    });
    expect(result.files).toBeUndefined();
    expect(readdirSync(fixture.root)).toEqual(entriesBefore);
    const { bundle } = result;
    expect(bundle.names).toMatchObject({ p12: 'erin.p12', conf: 'erin.conf', png: 'erin.png' });
    expect(bundle.conf).toMatch(new RegExp(`^Address = ${result.address.replace(/\./g, '\\.')}/32$`, 'm'));
    expect(bundle.png.subarray(1, 4).toString()).toBe('PNG');
    expect(bundle.guide).toContain(result.serial);
    const p12 = join(fixture.root, 'erin-check.p12');
    writeFileSync(p12, bundle.p12);
    expect(tool('pk12util', ['-l', p12, '-W', result.password]).code).toBe(0);
    rmSync(p12);
    const after = storeState();
    expect(after.certificates).toHaveLength(before.certificates.length + 1);
    expect(after.peers).toContainEqual({ name: 'erin', address: result.address });
    expect(after.audit.at(-1)).toMatchObject({ action: 'admin.onboard', target: 'erin' });
  });

  it('refuses --out below a regular file before doing anything', async () => {
    const blocker = join(fixture.root, 'a-file');
    writeFileSync(blocker, 'not a folder');
    const before = storeState();
    const error = await onboard('dave', { out: join(blocker, 'bundle') }).catch((e: unknown) => e);
    expect((error as MailgateError).code).toBe('ERR_FILE');
    expect((error as MailgateError).message).toContain('--out');
    expect(storeState()).toEqual(before);
    expect(readFileSync(blocker, 'utf8')).toBe('not a folder');
  });
});

describe('admin onboard through the CLI: bad input gets one line, an exit code and changes nothing', () => {
  const cases: Array<[string, (dir: string) => string[], number, string]> = [
    ['a bad name', (dir) => ['../evil', '--out', dir], 2, 'NAME must be'],
    ['a bad role', (dir) => ['erin', '--role', 'root', '--out', dir], 2, '--role must be one of'],
    ['a missing --out', () => ['erin'], 2, '--out is required'],
    ['bad --days', (dir) => ['erin', '--days', '0', '--out', dir], 2, '--days must be'],
    ['a bad --dns', (dir) => ['erin', '--dns', 'nope', '--out', dir], 2, '--dns'],
    ['a peer name in use', (dir) => ['dora', '--out', dir], 1, "peer named 'dora' already exists"],
  ];
  // The peer the name-in-use row collides with: this describe's own, so it holds in any test order.
  beforeAll(() => onboard('dora', { out: outDir() }));
  it.each(cases)('refuses %s', async (_what, args, code, message) => {
    const dir = outDir();
    const before = storeState();
    const run = await runCli(['admin', 'onboard', ...args(dir)], { dataDir: fixture.dataDir });
    expect(run.code).toBe(code);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toContain(message);
    expect(run.stdout).toBe('');
    expect(existsSync(dir)).toBe(false);
    expect(storeState()).toEqual(before);
  });

  it('refuses existing files with a conflict and leaves them alone', async () => {
    const dir = outDir();
    mkdirSync(dir);
    writeFileSync(join(dir, 'erin.conf'), 'keep me');
    const before = storeState();
    const run = await runCli(['admin', 'onboard', 'erin', '--out', dir], { dataDir: fixture.dataDir });
    expect(run.code).toBe(1);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toContain('erin.conf already exists');
    expect(readdirSync(dir)).toEqual(['erin.conf']);
    expect(readFileSync(join(dir, 'erin.conf'), 'utf8')).toBe('keep me');
    expect(storeState()).toEqual(before);
  });

  it("refuses before 'wg init' first, even before checking for a CA", async () => {
    const dataDir = join(fixture.root, 'no-wireguard');
    openDatabase(dataDir).close();
    const dir = outDir();
    const run = await runCli(['admin', 'onboard', 'erin', '--out', dir], { dataDir });
    expect(run.code).toBe(1);
    expect(run.stderr).toBe("mailgate: no WireGuard server yet: run 'mailgate wg init' first\n");
    expect(existsSync(dir)).toBe(false);
    expect(readdirSync(dataDir)).toEqual(['mailgate.db']);
  });
});
