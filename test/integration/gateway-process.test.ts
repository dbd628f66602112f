import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { type AddressInfo, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { type EchoUpstream, startEchoUpstream } from '../helpers/echo-upstream.js';
import { eventually } from '../helpers/eventually.js';
import { rawGet } from '../helpers/gateway.js';
import { startServe } from '../helpers/serve-process.js';
import { tempDir } from '../helpers/temp-store.js';

const root = tempDir('mailgate-proc-');
let echo: EchoUpstream;

beforeAll(async () => {
  echo = await startEchoUpstream();
});

afterAll(async () => {
  await echo?.close();
});

/** A new folder NAME under the file's temp root (a process's working directory). */
function folder(name: string): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

function configYaml(extra = '', routes = '  - { path: /, upstream: app, auth: public }\n') {
  return `publicUrl: https://localhost\nlisten:\n  https: { host: 127.0.0.1, port: 0 }\ndrainTimeoutMs: 5000\n${extra}upstreams:\n  app: { url: '${echo.url}' }\nroutes:\n${routes}`;
}

/** The serial of the certificate a fresh TLS handshake gets. */
function servedSerial(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(
      { host: '127.0.0.1', port, servername: 'localhost', rejectUnauthorized: false },
      () => {
        resolve(socket.getPeerCertificate().serialNumber.toLowerCase());
        socket.end();
      },
    );
    socket.on('error', reject);
  });
}

describe('the embedded defaults (npm start on a fresh clone)', () => {
  it('serves /_mailgate/healthz over TLS with a certificate from its own CA, which openssl verifies', async () => {
    const cwd = folder('fresh');
    const serve = await startServe([], { cwd });
    try {
      const ca = readFileSync(join(cwd, 'data/ca/ca.crt.pem'), 'utf8');
      const body = await new Promise<string>((resolve, reject) => {
        httpsGet(
          { host: '127.0.0.1', port: serve.port, path: '/_mailgate/healthz', ca, servername: 'localhost' },
          (res) => {
            let text = '';
            res.on('data', (chunk) => {
              text += chunk;
            });
            res.on('end', () => resolve(`${res.statusCode} ${text}`));
          },
        ).on('error', reject);
      });
      expect(body).toBe('200 {"status":"ok"}');
      const verify = spawnSync(
        'openssl',
        ['verify', '-CAfile', join(cwd, 'data/ca/ca.crt.pem'), join(cwd, 'data/tls/server.crt.pem')],
        { encoding: 'utf8' },
      );
      expect(verify.stdout).toContain(': OK');
      const text = spawnSync(
        'openssl',
        [
          'x509',
          '-in',
          join(cwd, 'data/tls/server.crt.pem'),
          '-noout',
          '-ext',
          'subjectAltName,extendedKeyUsage',
        ],
        { encoding: 'utf8' },
      ).stdout;
      expect(text).toMatch(/DNS:localhost/);
      expect(text).toMatch(/IP Address:127\.0\.0\.1/);
      expect(text).toMatch(/TLS Web Server Authentication/);
    } finally {
      expect(await serve.stop()).toBe(0);
    }
  });
});

describe('signals', () => {
  it('SIGTERM drains: the in-flight response completes, new connections are refused, exit 0', async () => {
    const cwd = folder('drain');
    writeFileSync(join(cwd, 'mailgate.yaml'), configYaml());
    const serve = await startServe([], { cwd });
    const inflight = new Promise<string>((resolve, reject) => {
      httpsGet(
        {
          host: '127.0.0.1',
          port: serve.port,
          path: '/slow-response',
          rejectUnauthorized: false,
          servername: 'localhost',
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            text += chunk;
            if (text === 'first-chunk\n') {
              serve.child.kill('SIGTERM');
              setTimeout(() => echo.releaseSlowResponse(), 300);
            }
          });
          res.on('end', () => resolve(text));
        },
      ).on('error', reject);
    });
    expect(await inflight).toBe('first-chunk\nlast-chunk\n');
    expect(await serve.exited).toBe(0);
    await expect(rawGet(serve.port, '/')).rejects.toThrow(/ECONNREFUSED/);
  });

  it('SIGHUP applies a good config and keeps serving on a broken one', async () => {
    const cwd = folder('hup');
    writeFileSync(join(cwd, 'mailgate.yaml'), configYaml());
    const serve = await startServe([], { cwd });
    try {
      expect((await rawGet(serve.port, '/blocked')).status).toBe(200);
      writeFileSync(
        join(cwd, 'mailgate.yaml'),
        configYaml(
          '',
          '  - { path: /blocked, upstream: app, auth: admin }\n  - { path: /, upstream: app, auth: public }\n',
        ),
      );
      serve.child.kill('SIGHUP');
      await eventually(async () => (await rawGet(serve.port, '/blocked')).status === 403);
      writeFileSync(join(cwd, 'mailgate.yaml'), 'routes: [ {{ broken');
      serve.child.kill('SIGHUP');
      await eventually(() => serve.stdout().includes('configuration reload refused'));
      expect((await rawGet(serve.port, '/blocked')).status).toBe(403);
      expect((await rawGet(serve.port, '/open')).status).toBe(200);
    } finally {
      expect(await serve.stop()).toBe(0);
    }
  });
});

describe('certificate files given by path', () => {
  it('are swapped in without a restart; a broken new file keeps the old certificate', async () => {
    const cwd = folder('reload');
    mkdirSync(join(cwd, 'live'));
    const issue = await serverPairIssuer(cwd);
    const a = await issue('a');
    const b = await issue('b');
    const live = { cert: join(cwd, 'live', 'cert.pem'), key: join(cwd, 'live', 'key.pem') };
    copyFileSync(a.cert, live.cert);
    copyFileSync(a.key, live.key);
    writeFileSync(
      join(cwd, 'mailgate.yaml'),
      configYaml(`tls: { cert: live/cert.pem, key: live/key.pem }\n`),
    );
    const serve = await startServe([], { cwd });
    try {
      expect(await servedSerial(serve.port)).toBe(serialOf(a.cert));
      // Replace both files the way an ACME client does: write elsewhere, then rename.
      copyFileSync(b.key, `${live.key}.new`);
      copyFileSync(b.cert, `${live.cert}.new`);
      renameSync(`${live.key}.new`, live.key);
      renameSync(`${live.cert}.new`, live.cert);
      await eventually(async () => (await servedSerial(serve.port)) === serialOf(b.cert), 5_000);
      writeFileSync(live.cert, '-----BEGIN CERTIFICATE-----\ngarbage\n-----END CERTIFICATE-----\n');
      await eventually(() => serve.stdout().includes('tls certificate reload failed'), 5_000);
      expect(await servedSerial(serve.port)).toBe(serialOf(b.cert));
      expect((await rawGet(serve.port, '/still-up')).status).toBe(200);
    } finally {
      expect(await serve.stop()).toBe(0);
    }
  });
  it('follow tls.cert/tls.key to new paths on SIGHUP; a broken new pair keeps the old certificate', async () => {
    const cwd = join(root, 'hup-tls');
    const issue = await serverPairIssuer(cwd);
    const a = await issue('a');
    const b = await issue('b');
    const tlsYaml = (cert: string, key: string) => configYaml(`tls: { cert: ${cert}, key: ${key} }\n`);
    writeFileSync(join(cwd, 'mailgate.yaml'), tlsYaml(a.cert, a.key));
    const serve = await startServe([], { cwd });
    try {
      expect(await servedSerial(serve.port)).toBe(serialOf(a.cert));
      writeFileSync(join(cwd, 'mailgate.yaml'), tlsYaml(b.cert, b.key));
      serve.child.kill('SIGHUP');
      await eventually(async () => (await servedSerial(serve.port)) === serialOf(b.cert), 5_000);
      writeFileSync(join(cwd, 'mailgate.yaml'), tlsYaml(a.cert, b.key));
      serve.child.kill('SIGHUP');
      await eventually(() => serve.stdout().includes('tls certificate reload failed'), 5_000);
      expect(await servedSerial(serve.port)).toBe(serialOf(b.cert));
      expect((await rawGet(serve.port, '/still-up')).status).toBe(200);
    } finally {
      expect(await serve.stop()).toBe(0);
    }
  });
});

describe('start-up failures', () => {
  let dir: string;
  let busy: Server;
  beforeAll(async () => {
    dir = join(root, 'startup');
    const good = await (await serverPairIssuer(dir))('good');
    copyFileSync(good.cert, join(dir, 'good.crt.pem'));
    copyFileSync(good.key, join(dir, 'good.key.pem'));
    writeFileSync(join(dir, 'garbage.pem'), 'garbage\n');
    busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  });
  afterAll(() => new Promise<void>((resolve) => busy.close(() => resolve())));

  const cases: Array<[string, () => string, RegExp]> = [
    [
      'a port in use',
      () =>
        configYaml(`tls: { cert: good.crt.pem, key: good.key.pem }\n`).replace(
          'port: 0',
          `port: ${(busy.address() as AddressInfo).port}`,
        ),
      /^mailgate: listen\.https: 127\.0\.0\.1:\d+ is already in use by another process\n$/,
    ],
    [
      'a key that is not PEM',
      () => configYaml(`tls: { cert: good.crt.pem, key: garbage.pem }\n`),
      /^mailgate: tls\.key: \S+garbage\.pem is not a PEM private key\n$/,
    ],
    [
      'the key of another certificate',
      () => configYaml(`tls: { cert: good.crt.pem, key: data/ca/ca.key.pem }\n`),
      /^mailgate: tls\.key: \S+ca\.key\.pem is not the key of \S+good\.crt\.pem\n$/,
    ],
    [
      'a certificate that is not PEM',
      () => configYaml(`tls: { cert: garbage.pem, key: good.key.pem }\n`),
      /^mailgate: tls\.cert: \S+garbage\.pem is not a PEM certificate\n$/,
    ],
  ];
  it('MAILGATE_HTTPS_PORT overrides the port in use that the file names', async () => {
    writeFileSync(join(dir, 'mailgate.yaml'), cases[0]![1]());
    const serve = await startServe([], { cwd: dir, env: { MAILGATE_HTTPS_PORT: '0' } });
    try {
      expect(serve.port).not.toBe((busy.address() as AddressInfo).port);
      expect((await rawGet(serve.port, '/_mailgate/healthz')).status).toBe(200);
    } finally {
      expect(await serve.stop()).toBe(0);
    }
  });

  it.each(cases)(
    '%s: one line naming the key, exit 1, nothing listening',
    async (_name, makeYaml, message) => {
      writeFileSync(join(dir, 'mailgate.yaml'), makeYaml());
      const result = await runCli(['serve'], { cwd: dir });
      expect(result.stderr).toMatch(message);
      expect(result.code).toBe(1);
    },
  );
});

describe('mailgate check-config', () => {
  const bad: Array<[string, () => string, RegExp]> = [
    ['unknown key', () => configYaml('colour: blue\n'), /colour: unknown key/],
    [
      'bad CIDR',
      () => configYaml('admin: { sourceCidrs: [10.8.0.0/33] }\n'),
      /admin\.sourceCidrs\.0: '10\.8\.0\.0\/33' is not a CIDR/,
    ],
    ['bad port', () => configYaml().replace('port: 0', 'port: 70000'), /listen\.https\.port/],
    [
      'unknown upstream',
      () => configYaml('', '  - { path: /, upstream: nowhere, auth: public }\n'),
      /routes\.0\.upstream: unknown upstream 'nowhere'/,
    ],
    [
      'duplicate route',
      () =>
        configYaml(
          '',
          '  - { path: /a, upstream: app, auth: public }\n  - { path: /A/, upstream: app, auth: admin }\n',
        ),
      /routes\.1: same host and path as routes\.0/,
    ],
    [
      'unreadable cert file',
      () => configYaml('tls: { cert: /nonexistent/cert.pem, key: /nonexistent/key.pem }\n'),
      /tls\.cert: cannot read \/nonexistent\/cert\.pem/,
    ],
    ['bad auth', () => configYaml('', '  - { path: /, upstream: app, auth: open }\n'), /routes\.0\.auth/],
    ['not YAML', () => 'routes: [ {{', /not valid YAML/],
  ];
  it.each(bad)('rejects a config with a %s, naming the key (exit 1)', async (_name, makeYaml, message) => {
    const file = join(root, `bad-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(file, makeYaml());
    const result = await runCli(['check-config', '--config', file]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('reports every problem of a file on its own line, with --config and with ./mailgate.yaml', async () => {
    const cwd = folder('many-problems');
    const yaml = configYaml('colour: blue\nadmin: { sourceCidrs: [10.8.0.0/33] }\n').replace(
      'port: 0',
      'port: 70000',
    );
    writeFileSync(join(cwd, 'mailgate.yaml'), yaml);
    for (const args of [['--config', join(cwd, 'mailgate.yaml')], []]) {
      const result = await runCli(['check-config', ...args], { cwd });
      expect(result.code).toBe(1);
      const lines = result.stderr.trimEnd().split('\n');
      expect(lines).toHaveLength(3);
      expect(lines.every((line) => line.startsWith('mailgate: '))).toBe(true);
      expect(result.stderr).toMatch(/^mailgate: colour: unknown key$/m);
      expect(result.stderr).toMatch(/^mailgate: admin\.sourceCidrs\.0: .*$/m);
      expect(result.stderr).toMatch(/^mailgate: listen\.https\.port: .*$/m);
    }
  });

  it('accepts a good config and the built-in defaults', async () => {
    const file = join(root, 'good.yaml');
    writeFileSync(file, configYaml());
    expect((await runCli(['check-config', '--config', file])).code).toBe(0);
    const defaults = await runCli(['check-config'], { cwd: root });
    expect(defaults.code).toBe(0);
    expect(defaults.stderr).toContain('built-in defaults');
  });

  it('an unknown flag is a usage error (exit 2)', async () => {
    const result = await runCli(['check-config', '--colour']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/Unknown option '--colour'/);
  });
});

/** Creates a CA in cwd/data and returns a function that issues a server certificate for localhost into cwd/NAME/. */
async function serverPairIssuer(cwd: string) {
  const dataDir = join(cwd, 'data');
  expect((await runCli(['ca', 'init'], { dataDir })).code).toBe(0);
  return async (name: string) => {
    mkdirSync(join(cwd, name), { recursive: true });
    const issued = await runCli(['ca', 'issue', 'server', '--dns', 'localhost', '--out', join(cwd, name)], {
      dataDir,
    });
    expect(issued.code, issued.stderr).toBe(0);
    const files = spawnSync('ls', [join(cwd, name)], { encoding: 'utf8' }).stdout.split('\n');
    return {
      cert: join(cwd, name, files.find((n) => n.endsWith('.crt.pem'))!),
      key: join(cwd, name, files.find((n) => n.endsWith('.key.pem'))!),
    };
  };
}

/** A certificate file's serial, lower-case hex. */
function serialOf(file: string): string {
  return spawnSync('openssl', ['x509', '-in', file, '-noout', '-serial'], { encoding: 'utf8' })
    .stdout.trim()
    .split('=')[1]!
    .toLowerCase();
}
