/**
 * What serving does not need is loaded only when used (issue 15 point 4), read from the module lists of
 * real processes (test/helpers/module-list.mjs, preloaded through NODE_OPTIONS): an idle gateway, and the
 * primary and workers of `--workers 2`. Memory itself is measured by `npm run bench`, not here.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { type EchoUpstream, startEchoUpstream } from '../helpers/echo-upstream.js';
import { eventually } from '../helpers/eventually.js';
import { rawGet } from '../helpers/gateway.js';
import { type ServeProcess, startServe } from '../helpers/serve-process.js';
import { tempDir } from '../helpers/temp-store.js';

const HOOK = fileURLToPath(new URL('../helpers/module-list.mjs', import.meta.url));

/** Never loaded by an idle gateway process or worker: issuance, the admin API and console, tokens, Redis. */
const NOT_AT_IDLE = [
  '/node_modules/node-forge/',
  '/node_modules/qrcode/',
  '/node_modules/jose/',
  '/node_modules/ioredis/',
  '/dist/admin/api/',
  '/dist/admin/console/',
];
/** Workers get their configuration from the primary and have no CLI. */
const NOT_IN_WORKERS = [...NOT_AT_IDLE, '/node_modules/yaml/', '/node_modules/zod/', '/dist/cli/'];
/** The primary serves no request. */
const NOT_IN_PRIMARY = [
  ...NOT_AT_IDLE,
  '/dist/gateway/gateway.js',
  '/dist/gateway/proxy.js',
  '/node_modules/undici/',
  '/node_modules/hono/',
  '/node_modules/@hono/',
];

let root: string;
let lists: string;
let echo: EchoUpstream;
let configPath: string;
let token: string;
const tlsClient: { cert?: string; key?: string } = {};
const running: ServeProcess[] = [];

const cli = (...args: string[]) => runCli([...args, '--config', configPath], { cwd: root });

beforeAll(async () => {
  root = tempDir('mailgate-lazy-');
  lists = join(root, 'modules');
  mkdirSync(lists);
  echo = await startEchoUpstream();
  configPath = join(root, 'mailgate.yaml');
  writeFileSync(
    configPath,
    `publicUrl: https://localhost
dataDir: ./data
listen: { https: { host: 127.0.0.1, port: 0 } }
admin: { sourceCidrs: [127.0.0.0/8] }
upstreams: { app: { url: '${echo.url}' } }
routes:
  - { path: /api/emails, upstream: app, auth: token, scopes: [send] }
  - { path: /, upstream: app, auth: public }
`,
  );
  // A first start issues the CA, the server certificate and the CRL (node-forge, in that process); the
  // processes under test start on the data dir it left, as after any first start.
  const first = await startServe(['--config', configPath], { cwd: root });
  await first.stop();
  const issued = await cli('token', 'issue', '--app', 'lazy', '--scope', 'send', '--json');
  expect(issued.code, issued.stderr).toBe(0);
  token = (JSON.parse(issued.stdout) as { token: string }).token;
  const certs = join(root, 'certs');
  const client = await cli('ca', 'issue', 'client', '--name', 'lazy', '--role', 'admin', '--out', certs);
  expect(client.code, client.stderr).toBe(0);
  tlsClient.cert = readFileSync(join(certs, 'lazy.crt.pem'), 'utf8');
  tlsClient.key = readFileSync(join(certs, 'lazy.key.pem'), 'utf8');
}, 60_000);

afterAll(async () => {
  for (const serve of running) if (serve.child.exitCode === null) await serve.stop();
  await echo?.close();
});

async function serveWithHook(...args: string[]): Promise<ServeProcess> {
  const serve = await startServe(['--config', configPath, ...args], {
    cwd: root,
    env: { NODE_OPTIONS: `--import=${HOOK}`, MAILGATE_TEST_MODULE_LIST_DIR: lists },
  });
  running.push(serve);
  return serve;
}

/** The module URLs process `pid` has loaded so far. */
async function modulesOf(pid: number): Promise<string[]> {
  const file = join(lists, `${pid}.txt`);
  rmSync(file, { force: true });
  process.kill(pid, 'SIGUSR2');
  return eventually(async () => {
    if (!existsSync(file)) throw new Error(`no module list from ${pid} yet`);
    return readFileSync(file, 'utf8').split('\n').filter(Boolean);
  });
}

/** Which of `prefixes` (path parts) some loaded module lies under. */
const loadedOf = (modules: string[], prefixes: string[]) =>
  prefixes.filter((prefix) => modules.some((url) => url.includes(prefix)));

describe('lazy loading', () => {
  it('an idle gateway has loaded none of issuance, the admin API and console or jose; they load when used', async () => {
    const serve = await serveWithHook();
    expect((await rawGet(serve.port, '/_mailgate/healthz')).status).toBe(200);
    expect((await rawGet(serve.port, '/inbox')).status).toBe(200);
    const idle = await modulesOf(serve.child.pid!);
    expect(loadedOf(idle, ['/dist/gateway/gateway.js', '/node_modules/undici/'])).toHaveLength(2);
    expect(loadedOf(idle, NOT_AT_IDLE)).toEqual([]);

    const send = await rawGet(serve.port, '/api/emails', { authorization: `Bearer ${token}` });
    expect(send.status).toBe(200);
    const status = await rawGet(serve.port, '/_mailgate/admin/api/status', {}, tlsClient);
    expect(status.status, status.body).toBe(200);
    const used = await modulesOf(serve.child.pid!);
    expect(loadedOf(used, ['/node_modules/jose/', '/dist/admin/api/'])).toEqual([
      '/node_modules/jose/',
      '/dist/admin/api/',
    ]);
    await serve.stop();
  });

  it('under --workers 2, no worker loads the config parser, the CLI or what serving does not need, and the primary no serving stack', async () => {
    const serve = await serveWithHook('--workers', '2');
    for (let i = 0; i < 4; i++) expect((await rawGet(serve.port, '/inbox')).status).toBe(200);
    const workers = spawnSync('pgrep', ['-P', String(serve.child.pid)], { encoding: 'utf8' })
      .stdout.split('\n')
      .filter(Boolean)
      .map(Number);
    expect(workers).toHaveLength(2);
    for (const pid of workers) {
      const modules = await modulesOf(pid);
      expect(loadedOf(modules, ['/dist/gateway/gateway.js', '/node_modules/undici/'])).toHaveLength(2);
      expect(loadedOf(modules, NOT_IN_WORKERS), `worker ${pid}`).toEqual([]);
    }
    const primary = await modulesOf(serve.child.pid!);
    expect(loadedOf(primary, ['/node_modules/yaml/', '/dist/gateway/cluster-primary.js'])).toHaveLength(2);
    expect(loadedOf(primary, NOT_IN_PRIMARY)).toEqual([]);
    await serve.stop();
  });
});
