import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { tool } from '../helpers/ca-fixture.js';
import { CLI_MAIN, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp-store.js';

let root: string;
let dataDir: string;
let out: string;

beforeAll(async () => {
  root = tempDir('mailgate-ca-cli-');
  dataDir = join(root, 'data');
  out = join(root, 'out');
  mkdirSync(out);
  const init = await runCli(['ca', 'init', '--cn', 'CLI CA', '--json'], { dataDir });
  expect(init.code, init.stderr).toBe(0);
});

/** Everything a failed command must leave untouched: output files, CA files, and the rows (read directly). */
function snapshot() {
  const db = new BetterSqlite3(join(dataDir, 'mailgate.db'), { readonly: true });
  try {
    return {
      out: readdirSync(out).sort(),
      ca: readdirSync(join(dataDir, 'ca')).sort(),
      crl: readFileSync(join(dataDir, 'ca', 'crl.pem'), 'utf8'),
      certificates: db.prepare('SELECT serial, revoked_at FROM certificates ORDER BY serial').all(),
      audit: db.prepare('SELECT count(*) FROM audit').pluck().get(),
    };
  } finally {
    db.close();
  }
}

const mode = (path: string) => statSync(path).mode & 0o777;

/** The exit status of `openssl verify` of `cert` against the CA for `purpose`. */
const verifiedAs = (cert: string, purpose: 'sslclient' | 'sslserver') =>
  tool('openssl', ['verify', '-CAfile', join(dataDir, 'ca', 'ca.crt.pem'), '-purpose', purpose, cert]).code;

function expectOneLine(stderr: string, pattern: RegExp | string) {
  const lines = stderr.trimEnd().split('\n');
  expect(lines, stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^mailgate: /);
  if (typeof pattern === 'string') expect(lines[0]).toContain(pattern);
  else expect(lines[0]).toMatch(pattern);
}

// In this order even under --sequence.shuffle: later tests list, revoke and audit the certificates the
// first ones issue.
describe('mailgate ca (spawned CLI)', { shuffle: false }, () => {
  it('issue client --json prints the documented shape and writes the files with the right modes', async () => {
    const run = await runCli(
      [
        'ca',
        'issue',
        'client',
        '--name',
        'alice',
        '--role',
        'operator',
        '--email',
        'alice@example.org',
        '--out',
        out,
        '--p12-password',
        'pw',
        '--json',
      ],
      { dataDir },
    );
    expect(run.code, run.stderr).toBe(0);
    const doc = JSON.parse(run.stdout);
    expect(Object.keys(doc)).toEqual(
      expect.arrayContaining(['serial', 'name', 'role', 'notBefore', 'notAfter', 'fingerprint256', 'files']),
    );
    expect(doc).toMatchObject({
      name: 'alice',
      role: 'operator',
      files: {
        cert: join(out, 'alice.crt.pem'),
        key: join(out, 'alice.key.pem'),
        p12: join(out, 'alice.p12'),
      },
    });
    expect(doc.serial).toMatch(/^[0-7][0-9a-f]{31}$/);
    expect(Date.parse(doc.notAfter) - Date.parse(doc.notBefore)).toBe(90 * 86_400_000 + 300_000);
    expect(mode(doc.files.key)).toBe(0o600);
    expect(mode(doc.files.p12)).toBe(0o600);
    expect(mode(doc.files.cert)).toBe(0o644);
    expect(verifiedAs(doc.files.cert, 'sslclient')).toBe(0);
    expect(readdirSync(out).filter((f) => f.startsWith('.'))).toEqual([]);
  });

  it('writes into the current directory by default and without a password writes no p12', async () => {
    const cwd = join(root, 'cwd');
    mkdirSync(cwd);
    const run = await runCli(['ca', 'issue', 'client', '--name', 'bob@example.org', '--days', '397'], {
      dataDir,
      cwd,
    });
    expect(run.code, run.stderr).toBe(0);
    expect(readdirSync(cwd).sort()).toEqual(['bob@example.org.crt.pem', 'bob@example.org.key.pem']);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain("issued client certificate 'bob@example.org' (role admin");
  });

  it('reads the p12 password from --p12-password-file and honours --p12-algorithm aes256', async () => {
    const pwFile = join(root, 'pw.txt');
    writeFileSync(pwFile, 's3cret\n');
    const run = await runCli(
      [
        'ca',
        'issue',
        'client',
        '--name',
        'carol',
        '--out',
        out,
        '--p12-password-file',
        pwFile,
        '--p12-algorithm',
        'aes256',
      ],
      { dataDir },
    );
    expect(run.code, run.stderr).toBe(0);
    const info = tool('openssl', [
      'pkcs12',
      '-info',
      '-noout',
      '-in',
      join(out, 'carol.p12'),
      '-passin',
      'pass:s3cret',
    ]);
    expect(info.out).toContain('AES-256-CBC');
  });

  it('lists, revokes by name, serves a CRL that openssl checks, and audits who did it', async () => {
    const list = JSON.parse((await runCli(['ca', 'list', '--json'], { dataDir })).stdout);
    const alice = list.certificates.find((c: { name: string }) => c.name === 'alice');
    expect(alice).toMatchObject({
      kind: 'client',
      role: 'operator',
      status: 'valid',
      revokedAt: null,
      revocationReason: null,
    });
    expect(Object.keys(alice).sort()).toEqual(
      [
        'serial',
        'name',
        'kind',
        'role',
        'email',
        'sans',
        'notBefore',
        'notAfter',
        'status',
        'revokedAt',
        'revocationReason',
        'fingerprint256',
      ].sort(),
    );
    const revoke = await runCli(['ca', 'revoke', 'alice', '--reason', 'keyCompromise'], { dataDir });
    expect(revoke.code, revoke.stderr).toBe(0);
    expect(revoke.stderr).toContain(`revoked ${alice.serial} (alice, keyCompromise)`);
    const again = await runCli(['ca', 'revoke', alice.serial], { dataDir });
    expect(again.code).toBe(1);
    expectOneLine(again.stderr, 'is already revoked');
    const revoked = JSON.parse(
      (await runCli(['ca', 'list', '--revoked', '--json'], { dataDir })).stdout,
    ).certificates;
    expect(revoked).toHaveLength(1);
    expect(revoked[0]).toMatchObject({
      serial: alice.serial,
      status: 'revoked',
      revocationReason: 'keyCompromise',
    });
    const expiring = JSON.parse(
      (await runCli(['ca', 'list', '--expiring', '100', '--json'], { dataDir })).stdout,
    ).certificates;
    expect(expiring.map((c: { name: string }) => c.name).sort()).toEqual(['carol']);
    const human = await runCli(['ca', 'list'], { dataDir });
    expect(human.stdout.split('\n')[0]).toMatch(/^SERIAL\s+KIND\s+STATUS\s+NOT AFTER\s+ROLE\s+NAME$/);

    const crlPem = join(root, 'crl.pem');
    const crlDer = join(root, 'crl.der');
    expect((await runCli(['ca', 'crl', '--out', crlPem], { dataDir })).code).toBe(0);
    expect((await runCli(['ca', 'crl', '--out', crlDer, '--der'], { dataDir })).code).toBe(0);
    const caPem = join(root, 'ca.pem');
    expect((await runCli(['ca', 'cert', '--out', caPem], { dataDir })).code).toBe(0);
    expect(tool('openssl', ['crl', '-in', crlPem, '-CAfile', caPem, '-noout']).out).toContain('verify OK');
    expect(
      tool('openssl', ['crl', '-inform', 'DER', '-in', crlDer, '-CAfile', caPem, '-noout']).out,
    ).toContain('verify OK');
    // --der without --out: DER into a pipe, read by openssl as `openssl crl -outform DER | ...` would be.
    const mailgate = `'${process.execPath}' '${CLI_MAIN}' ca crl --der --data-dir '${dataDir}'`;
    const piped = tool('sh', ['-c', `${mailgate} | openssl crl -inform DER -CAfile '${caPem}' -noout`]);
    expect(piped.out).toContain('verify OK');
    const bytes = spawnSync('sh', ['-c', mailgate]);
    expect(bytes.status).toBe(0);
    expect(bytes.stdout.equals(readFileSync(crlDer))).toBe(true);
    // Only a terminal is refused (script gives the command a pseudo-terminal), with a usage error.
    const onTerminal = tool('script', ['-qec', mailgate, '/dev/null']);
    expect(onTerminal.code).toBe(2);
    expect(onTerminal.stdout.trim()).toBe(
      'mailgate: --der writes binary: give --out FILE or redirect stdout to a file or pipe',
    );
    const check = ['verify', '-crl_check', '-CAfile', caPem, '-CRLfile', crlPem];
    expect(tool('openssl', [...check, join(out, 'alice.crt.pem')]).out).toContain('certificate revoked');
    expect(tool('openssl', [...check, join(out, 'carol.crt.pem')]).stdout).toContain(': OK');

    // Newest first (mailgate audit pages from the latest record).
    const audit = JSON.parse((await runCli(['audit', '--json'], { dataDir })).stdout).entries;
    expect(audit.map((e: { action: string }) => e.action)).toEqual([
      'ca.revoke',
      'ca.issue',
      'ca.issue',
      'ca.issue',
      'ca.init',
    ]);
    expect(audit[0]).toMatchObject({
      target: alice.serial,
      outcome: 'ok',
      actor: expect.stringMatching(/^cli:.+@.+/),
    });
    const auditHuman = await runCli(['audit'], { dataDir });
    expect(auditHuman.stdout.trim().split('\n')).toHaveLength(5);
  });

  it('issue server writes chain and key named after the first DNS name', async () => {
    const run = await runCli(
      [
        'ca',
        'issue',
        'server',
        '--dns',
        'mail.example.com,localhost',
        '--ip',
        '127.0.0.1',
        '--out',
        out,
        '--json',
      ],
      { dataDir },
    );
    expect(run.code, run.stderr).toBe(0);
    const doc = JSON.parse(run.stdout);
    expect(doc).toMatchObject({
      name: 'mail.example.com',
      dns: ['mail.example.com', 'localhost'],
      ips: ['127.0.0.1'],
    });
    expect(verifiedAs(doc.files.cert, 'sslserver')).toBe(0);
    expect(mode(doc.files.key)).toBe(0o600);
  });

  it('issue client and server create a missing --out folder (0700, with its parents), as admin onboard does', async () => {
    const clientDir = join(root, 'fresh', 'alice');
    const client = await runCli(['ca', 'issue', 'client', '--name', 'fresh1', '--out', clientDir, '--json'], {
      dataDir,
    });
    expect(client.code, client.stderr).toBe(0);
    expect(readdirSync(clientDir).sort()).toEqual(['fresh1.crt.pem', 'fresh1.key.pem']);
    expect(mode(clientDir)).toBe(0o700);
    expect(mode(join(root, 'fresh'))).toBe(0o700);
    const serverDir = join(root, 'fresh', 'tls');
    const server = await runCli(['ca', 'issue', 'server', '--dns', 'fresh.example', '--out', serverDir], {
      dataDir,
    });
    expect(server.code, server.stderr).toBe(0);
    expect(readdirSync(serverDir).sort()).toEqual(['fresh.example.crt.pem', 'fresh.example.key.pem']);
    expect(mode(serverDir)).toBe(0o700);
  });

  it('ca init refuses to replace the CA without --force', async () => {
    const run = await runCli(['ca', 'init'], { dataDir });
    expect(run.code).toBe(1);
    expectOneLine(run.stderr, '--force replaces it and invalidates every certificate it issued');
  });
});

describe('bad input: one clear line, the right exit code, nothing written', () => {
  // The table is built before beforeAll runs, so OUT stands for the output folder until then.
  const client = (...args: string[]) => ['ca', 'issue', 'client', '--out', 'OUT', ...args];
  const withOut = (args: string[]) => args.map((arg) => (arg === 'OUT' ? out : arg));
  // A file of its own for 'existing output file', not one an earlier test wrote: the order may change.
  beforeAll(() => writeFileSync(join(out, 'kept.crt.pem'), 'not to be replaced\n'));
  it.each([
    [
      'unknown role',
      client('--name', 'x1', '--role', 'root'),
      2,
      '--role must be one of admin, operator, viewer, got "root"',
    ],
    [
      '--days 0',
      client('--name', 'x1', '--days', '0'),
      2,
      '--days must be a whole number of days from 1 to 397',
    ],
    [
      '--days=-5',
      client('--name', 'x1', '--days=-5'),
      2,
      '--days must be a whole number of days from 1 to 397',
    ],
    ['--days -5', client('--name', 'x1', '--days', '-5'), 2, '--days'],
    ['--days over the maximum', client('--name', 'x1', '--days', '398'), 2, 'from 1 to 397'],
    ["name with '/'", client('--name', 'a/b'), 2, '--name must be'],
    ["name with '..'", client('--name', 'a..b'), 2, '--name must be'],
    ['name ..', client('--name', '..'), 2, '--name must be'],
    ['name with a control character', client('--name', 'a\x01b'), 2, '--name must be'],
    ['name with a newline', client('--name', 'a\nb'), 2, '--name must be'],
    ['missing --name', client(), 2, '--name is required'],
    ['unknown flag', client('--name', 'x1', '--colour', 'red'), 2, "Unknown option '--colour'"],
    [
      'bad p12 algorithm',
      client('--name', 'x1', '--p12-password', 'pw', '--p12-algorithm', 'rc2'),
      2,
      '--p12-algorithm must be one of',
    ],
    [
      'p12 algorithm without password',
      client('--name', 'x1', '--p12-algorithm', 'aes256'),
      2,
      '--p12-algorithm needs',
    ],
    [
      'both password flags',
      client('--name', 'x1', '--p12-password', 'a', '--p12-password-file', '/nonexistent'),
      2,
      'not both',
    ],
    ['non-ASCII p12 password', client('--name', 'x1', '--p12-password', 'pässword'), 2, 'printable ASCII'],
    [
      'existing output file',
      client('--name', 'kept'),
      1,
      'kept.crt.pem already exists (use --force to replace it)',
    ],
    ['unknown reason', ['ca', 'revoke', 'carol', '--reason', 'lost'], 2, '--reason must be one of'],
    ['unknown certificate', ['ca', 'revoke', 'nobody'], 1, "no certificate with serial or name 'nobody'"],
    ['server without --dns', ['ca', 'issue', 'server', '--out', 'OUT'], 2, '--dns is required'],
    [
      'server with a bad IP',
      ['ca', 'issue', 'server', '--dns', 'a.example', '--ip', '300.1.1.1', '--out', 'OUT'],
      2,
      '--ip holds an invalid IP address',
    ],
    ['bad --since', ['audit', '--since', 'yesterday'], 2, '--since must be a duration'],
    ['bad --expiring', ['ca', 'list', '--expiring', 'soon'], 2, '--expiring must be a whole number'],
    ['--revoked with --expiring', ['ca', 'list', '--revoked', '--expiring', '5'], 2, 'exclude each other'],
  ])('%s', async (_label, args, code, message) => {
    const before = snapshot();
    const run = await runCli(withOut(args), { dataDir });
    expect(run.code, run.stderr).toBe(code);
    expectOneLine(run.stderr, message);
    expect(run.stdout).toBe('');
    expect(snapshot()).toEqual(before);
  });

  it('a file write failing half-way leaves no files and no record', async () => {
    mkdirSync(join(out, 'dave.p12')); // publishing the p12 fails after cert and key were moved into place
    const before = snapshot();
    const run = await runCli(withOut(client('--name', 'dave', '--p12-password', 'pw', '--force')), {
      dataDir,
    });
    expect(run.code).toBe(1);
    expectOneLine(run.stderr, `cannot write ${join(out, 'dave.p12')}`);
    expect(snapshot()).toEqual(before);
    expect(readdirSync(out).filter((f) => f.startsWith('dave') || f.startsWith('.'))).toEqual(['dave.p12']);
  });

  it('--out naming a file: one line, exit 1, nothing written', async () => {
    const file = join(root, 'a-file');
    writeFileSync(file, '');
    const before = snapshot();
    for (const args of [
      ['ca', 'issue', 'client', '--name', 'x1', '--out', file],
      ['ca', 'issue', 'server', '--dns', 'x1.example', '--out', join(file, 'below')],
    ]) {
      const run = await runCli(args, { dataDir });
      expect(run.code).toBe(1);
      expectOneLine(run.stderr, `--out: ${args.at(-1)} `);
    }
    expect(snapshot()).toEqual(before);
  });

  it('a failed issuance leaves no --out folder behind', async () => {
    const fresh = join(root, 'never', 'made');
    const run = await runCli(['ca', 'issue', 'client', '--name', 'x', '--out', fresh], {
      dataDir: join(root, 'no-ca'),
    });
    expect(run.code).toBe(1);
    expect(() => statSync(join(root, 'never'))).toThrow();
  });

  it('a missing CA tells the user to run ca init and creates nothing', async () => {
    const empty = join(root, 'empty');
    const run = await runCli(['ca', 'issue', 'client', '--name', 'x', '--out', out], { dataDir: empty });
    expect(run.code).toBe(1);
    expectOneLine(run.stderr, `no CA in ${empty}: run 'mailgate ca init' first`);
    for (const args of [
      ['ca', 'revoke', 'x'],
      ['ca', 'crl'],
      ['ca', 'cert'],
      ['ca', 'issue', 'server', '--dns', 'a.b', '--out', out],
    ]) {
      const other = await runCli(args, { dataDir: empty });
      expect(other.code).toBe(1);
      expectOneLine(other.stderr, "run 'mailgate ca init' first");
    }
    expect(JSON.parse((await runCli(['ca', 'list', '--json'], { dataDir: empty })).stdout)).toEqual({
      certificates: [],
    });
    expect(() => statSync(empty)).toThrow();
  });

  it('a corrupt or foreign database file gives one line and exit 1', async () => {
    const bad = join(root, 'bad');
    mkdirSync(bad);
    writeFileSync(join(bad, 'mailgate.db'), 'this is not sqlite '.repeat(300));
    const run = await runCli(['ca', 'list'], { dataDir: bad });
    expect(run.code).toBe(1);
    expectOneLine(run.stderr, /mailgate\.db/);
    expect(run.stderr).not.toContain('    at ');
    expect(readdirSync(bad)).toEqual(['mailgate.db']);
    const foreign = join(root, 'foreign');
    mkdirSync(foreign);
    const other = new BetterSqlite3(join(foreign, 'mailgate.db'));
    other.exec('CREATE TABLE notes (x TEXT)');
    other.close();
    const run2 = await runCli(['ca', 'list', '--json'], { dataDir: foreign });
    expect(run2.code).toBe(1);
    expectOneLine(run2.stderr, 'is not a mailgate database');
    expect(run2.stdout).toBe('');
  });
});
