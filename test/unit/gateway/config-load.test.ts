import { writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../gateway/config/load.js';
import { parseRedisUrl } from '../../../gateway/config/schema.js';
import { ConfigError } from '../../../lib/errors.js';
import { tempDir } from '../../helpers/temp-store.js';

const dir = tempDir('mailgate-config-');
function load(yaml: string, env: NodeJS.ProcessEnv = {}) {
  const file = join(dir, `${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, yaml);
  return loadConfig({ configPath: file, env });
}
const minimal =
  'upstreams: { app: { url: "http://127.0.0.1:8080" } }\nroutes: [ { path: /, upstream: app, auth: public } ]\n';

function problems(yaml: string, env: NodeJS.ProcessEnv = {}): readonly string[] {
  try {
    load(yaml, env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).code).toBe('ERR_CONFIG');
    return (error as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('gives plain data, so workers receive it over IPC (JSON) unchanged', () => {
    const config = load(`publicUrl: https://mail.example.org
listen:
  https: { host: 0.0.0.0, port: 443 }
  http: { host: 0.0.0.0, port: 80 }
  admin: { host: 10.8.0.1, port: 8443 }
  metrics: { host: 127.0.0.1, port: 9100 }
tls: { profile: modern, hsts: { maxAge: 31536000, includeSubDomains: true, preload: true } }
admin: { sourceCidrs: [10.8.0.0/24, 'fd00::/64'], listenerOnly: true }
trustedProxies: [127.0.0.1]
upstreams: { app: { url: "http://127.0.0.1:8080", timeoutMs: 5000 } }
routes:
  - { path: /api/, host: mail.example.org, upstream: app, auth: token, scopes: [send], maxBodyBytes: 1024 }
  - { path: /admin, upstream: app, auth: admin, roles: [admin] }
  - { path: /, upstream: app, auth: public }
ca: { crlDays: 3 }
tokens: { audience: mail }
audit: { retentionDays: 30 }
limits: { clientRequestsPerMinute: 0 }
log: { level: warn }
workers: auto
`);
    expect(JSON.parse(JSON.stringify(config))).toStrictEqual(config);
  });

  it('applies the named defaults', () => {
    const config = load(minimal);
    expect(config.listen.https).toEqual({ host: '127.0.0.1', port: 8443 });
    expect(config.upstreams.app!.timeoutMs).toBe(60_000);
    expect(config.tls).toEqual({ cert: 'auto', key: 'auto', profile: 'intermediate', hsts: undefined });
    expect(config.dataDir).toBe(join(dir, 'data'));
    expect(config.workers).toBe(1);
    expect(load(`${minimal}workers: auto\n`).workers).toBe('auto');
    expect(load(`${minimal}workers: 4\n`).workers).toBe(4);
  });

  it('runs on the built-in defaults without a file: the Mailcow route table', () => {
    const config = loadConfig({ configPath: undefined, env: {} });
    expect(config.routes.map((r) => `${r.path}:${r.auth}`)).toEqual([
      '/admin:admin',
      '/rspamd:admin',
      '/api/emails:token',
      '/:public',
    ]);
    expect(config.upstreams.mailcow!.timeoutMs).toBe(3_650_000);
  });

  it('lets MAILGATE_* variables override listen ports and TLS paths', () => {
    const config = load(minimal, { MAILGATE_HTTPS_PORT: '9443', MAILGATE_METRICS_PORT: '9464' });
    expect(config.listen.https.port).toBe(9443);
    expect(config.listen.metrics).toEqual({ host: '127.0.0.1', port: 9464 });
    // Relative paths from the environment resolve against the working directory, not the file's folder.
    const cert = join(tempDir('mailgate-env-tls-'), 'cert.pem');
    writeFileSync(cert, 'x');
    const tls = load(minimal, { MAILGATE_TLS_CERT: relative(process.cwd(), cert), MAILGATE_TLS_KEY: cert });
    expect(tls.tls).toEqual({ cert, key: cert, profile: 'intermediate' });
  });

  it.each([
    ['unknown key', `${minimal}colour: blue\n`, {}, 'colour: unknown key'],
    [
      'unknown nested key',
      `${minimal}listen: { https: { host: a, port: 1, tls: x } }\n`,
      {},
      'listen.https.tls: unknown key',
    ],
    [
      'bad CIDR',
      `${minimal}trustedProxies: [10.0.0.0/40]\n`,
      {},
      "trustedProxies.0: '10.0.0.0/40' is not a CIDR",
    ],
    ['bad port', `${minimal}listen: { https: { host: a, port: 99999 } }\n`, {}, 'listen.https.port'],
    [
      'bad env port',
      minimal,
      { MAILGATE_HTTPS_PORT: 'abc' },
      "MAILGATE_HTTPS_PORT: 'abc' is not a port number",
    ],
    [
      'bad env URL',
      minimal,
      { MAILGATE_PUBLIC_URL: 'http://mail.example.com' },
      'publicUrl (from MAILGATE_PUBLIC_URL): must be an https:// URL',
    ],
    [
      'unknown upstream',
      minimal.replace('upstream: app', 'upstream: nope'),
      {},
      "routes.0.upstream: unknown upstream 'nope'",
    ],
    ['missing routes', 'upstreams: { app: { url: "http://x" } }\n', {}, 'routes: is required'],
    [
      'reserved path',
      minimal.replace('path: /,', 'path: /_mailgate/x,'),
      {},
      'routes.0.path: /_mailgate is reserved',
    ],
    [
      'token route without scopes',
      minimal.replace('auth: public', 'auth: token'),
      {},
      'routes.0.scopes: a token route needs at least one scope',
    ],
    [
      'unreadable key file',
      `${minimal}tls: { cert: /no/such.pem, key: /no/such.key }\n`,
      {},
      'tls.cert: cannot read /no/such.pem (ENOENT)',
    ],
    ['zero workers', `${minimal}workers: 0\n`, {}, 'workers: must be auto or a whole number from 1 to 64'],
    ['65 workers', `${minimal}workers: 65\n`, {}, 'workers: must be auto or a whole number from 1 to 64'],
    [
      'workers as a word',
      `${minimal}workers: many\n`,
      {},
      'workers: must be auto or a whole number from 1 to 64',
    ],
    [
      'fractional workers',
      `${minimal}workers: 1.5\n`,
      {},
      'workers: must be auto or a whole number from 1 to 64',
    ],
    [
      'a value of the wrong type (not reported as missing)',
      `${minimal}dataDir: [a]\n`,
      {},
      'dataDir: must be text',
    ],
    [
      'HSTS max-age over two years',
      `${minimal}tls: { hsts: { maxAge: 63072001 } }\n`,
      {},
      'tls.hsts.maxAge: must be a whole number from 0 to 63072000',
    ],
    [
      'unknown TLS profile',
      `${minimal}tls: { profile: old }\n`,
      {},
      'tls.profile: must be one of intermediate, modern',
    ],
    [
      'HSTS preload without includeSubDomains',
      `${minimal}tls: { hsts: { preload: true } }\n`,
      {},
      'tls.hsts.preload: preload needs includeSubDomains: true and a maxAge of at least 31536000',
    ],
    ['unknown HSTS key', `${minimal}tls: { hsts: { maxage: 60 } }\n`, {}, 'tls.hsts'],
    [
      'two listeners on one port',
      `${minimal}listen: { https: { host: a, port: 8443 }, http: { host: a, port: 8443 } }\n`,
      {},
      'listen.http.port: 8443 is already used by listen.https',
    ],
    [
      'admin.listenerOnly without an admin listener',
      `${minimal}admin: { listenerOnly: true }\n`,
      {},
      'admin.listenerOnly: needs listen.admin',
    ],
    [
      'a Redis URL of another scheme',
      `${minimal}cluster: { redis: 'http://127.0.0.1:6379' }\n`,
      {},
      'cluster.redis: must be redis://[user:password@]host:port[/db] (or rediss:// for TLS)',
    ],
    [
      'a Redis URL without a port',
      `${minimal}cluster: { redis: 'redis://cache' }\n`,
      {},
      'cluster.redis: must be',
    ],
    [
      'a Redis database past 15',
      `${minimal}cluster: { redis: 'redis://cache:6379/16' }\n`,
      {},
      'cluster.redis: must be',
    ],
    [
      'a Redis URL with a query',
      `${minimal}cluster: { redis: 'redis://cache:6379/0?x=1' }\n`,
      {},
      'cluster.redis: must be',
    ],
    ['a Redis URL that is not text', `${minimal}cluster: { redis: 6379 }\n`, {}, 'cluster.redis'],
    [
      'a staleness bound under a second',
      `${minimal}cluster: { maxStalenessMs: 10 }\n`,
      {},
      'cluster.maxStalenessMs: must be a whole number from 1000 to 600000',
    ],
    [
      'a staleness bound past ten minutes',
      `${minimal}cluster: { maxStalenessMs: 600001 }\n`,
      {},
      'cluster.maxStalenessMs: must be a whole number from 1000 to 600000',
    ],
    ['an unknown cluster key', `${minimal}cluster: { redisUrl: x }\n`, {}, 'cluster.redisUrl: unknown key'],
    [
      'a replica without Redis',
      `${minimal}cluster: { replica: true }\n`,
      {},
      'cluster.replica: needs cluster.redis',
    ],
    [
      'a replica with the auto certificate',
      `${minimal}cluster: { redis: 'redis://127.0.0.1:6379', replica: true }\n`,
      {},
      'cluster.replica: needs tls.cert and tls.key files',
    ],
  ])('rejects %s', (_name, yaml, env, message) => {
    expect(problems(yaml, env).join('\n')).toContain(message);
  });

  /** Every `limits.*` key with its documented bounds (docs/operations.md, configuration reference). */
  const LIMIT_BOUNDS: Array<[string, number, number, string?]> = [
    ['handshakeTimeoutMs', 100, 300_000],
    ['headersTimeoutMs', 100, 300_000],
    ['keepAliveTimeoutMs', 100, 3_600_000],
    ['bodyIdleTimeoutMs', 100, 3_600_000],
    ['maxHeaderBytes', 1_024, 1_048_576],
    ['maxHeaderCount', 16, 10_000],
    ['clientConnections', 0, 1_000_000],
    ['clientRequestsPerMinute', 0, 60_000_000],
    ['clientRequestBurst', 1, 1_000_000],
    ['clientTableSize', 1_000, 10_000_000],
    ['clientIpv6Prefix', 32, 128],
    ['h2MaxConcurrentStreams', 1, 1_000],
    ['h2MaxSessionMemoryMiB', 1, 1_024],
    [
      'upstreamRequestsPerClient',
      1,
      100_000,
      "must be a share of the upstream's connections from 1% to 100% or a whole number from 1 to 100000",
    ],
    ['upstreamQueueTimeoutMs', 100, 600_000],
  ];

  it('knows the bounds of every limits key', () => {
    expect(LIMIT_BOUNDS.map(([key]) => key).sort()).toEqual(Object.keys(load(minimal).limits).sort());
  });

  describe.each(LIMIT_BOUNDS)('limits.%s (%i to %i)', (key, min, max, problem) => {
    it.each([
      ['below the minimum', String(min - 1)],
      ['above the maximum', String(max + 1)],
      ['a fraction', String(min + 0.5)],
      ['text', '"ten"'],
      ['a list', `[${min}]`],
      ['null', 'null'],
      ['infinity', '.inf'],
    ])('rejects %s with one line naming the key and both bounds', (_what, value) => {
      expect(problems(`${minimal}limits: { ${key}: ${value} }\n`)).toEqual([
        `limits.${key}: ${problem ?? `must be a whole number from ${min} to ${max}`}`,
      ]);
    });

    it('accepts both bounds', () => {
      const limitsWith = (value: number) =>
        load(`${minimal}limits: { ${key}: ${value} }\n`).limits as Record<string, number>;
      expect(limitsWith(min)[key]).toBe(min);
      expect(limitsWith(max)[key]).toBe(max);
    });
  });

  it('reads cluster: nothing shared without redis, the URL parts and the staleness bound', () => {
    expect(load(minimal).cluster).toEqual({ maxStalenessMs: 30_000, replica: false });
    const cluster = load(
      `${minimal}cluster: { redis: 'redis://:s3cret@cache:6380/2', maxStalenessMs: 5000 }\n`,
    );
    expect(cluster.cluster).toEqual({
      redis: 'redis://:s3cret@cache:6380/2',
      maxStalenessMs: 5000,
      replica: false,
    });
    expect(parseRedisUrl('redis://:s3cret@cache:6380/2')).toEqual({
      tls: false,
      host: 'cache',
      port: 6380,
      db: 2,
      password: 's3cret',
    });
    expect(parseRedisUrl('rediss://u:p%40ss@[::1]:6379')).toEqual({
      tls: true,
      host: '::1',
      port: 6379,
      db: 0,
      username: 'u',
      password: 'p@ss',
    });
    // The problem line never repeats the URL: it may hold a password.
    expect(problems(`${minimal}cluster: { redis: 'redis://:s3cret@cache' }\n`).join('\n')).not.toContain(
      's3cret',
    );
  });

  /** Every other whole-number key: where it goes in a config, and its bounds. */
  const OTHER_BOUNDS: Array<[key: string, config: (value: string) => string, min: number, max: number]> = [
    ['listen.https.port', (v) => `${minimal}listen: { https: { host: a, port: ${v} } }\n`, 0, 65_535],
    ['upstreams.app.timeoutMs', (v) => minimal.replace('" }', `", timeoutMs: ${v} }`), 1, 86_400_000],
    [
      'upstreams.app.connectTimeoutMs',
      (v) => minimal.replace('" }', `", connectTimeoutMs: ${v} }`),
      1,
      300_000,
    ],
    ['upstreams.app.connections', (v) => minimal.replace('" }', `", connections: ${v} }`), 1, 10_000],
    ['routes.0.maxBodyBytes', (v) => minimal.replace('public }', `public, maxBodyBytes: ${v} }`), 1, 2 ** 40],
    ['ca.clientDays', (v) => `${minimal}ca: { clientDays: ${v} }\n`, 1, 3_650],
    ['ca.maxDays', (v) => `${minimal}ca: { maxDays: ${v} }\n`, 1, 3_650],
    ['ca.crlDays', (v) => `${minimal}ca: { crlDays: ${v} }\n`, 1, 365],
    ['tokens.clockToleranceSeconds', (v) => `${minimal}tokens: { clockToleranceSeconds: ${v} }\n`, 0, 300],
    ['audit.retentionDays', (v) => `${minimal}audit: { retentionDays: ${v} }\n`, 1, 3_650],
    ['drainTimeoutMs', (v) => `${minimal}drainTimeoutMs: ${v}\n`, 0, 3_600_000],
  ];

  describe.each(OTHER_BOUNDS)('%s', (key, config, min, max) => {
    it.each([
      ['below the minimum', String(min - 1)],
      ['above the maximum', String(max + 1)],
      ['a fraction', String(min + 0.5)],
    ])('rejects %s with one line naming the key and both bounds', (_what, value) => {
      expect(problems(config(value))).toEqual([`${key}: must be a whole number from ${min} to ${max}`]);
    });

    it('accepts both bounds', () => {
      for (const value of [min, max]) expect(() => load(config(String(value)))).not.toThrow();
    });
  });

  /** A wrong value of each kind at each key, and the one line that names the key and what it must be. */
  const withUpstream = (part: string) => minimal.replace('" }', `", ${part} }`);
  const withRoute = (part: string) => minimal.replace('public }', `public, ${part} }`);
  const KIND_PROBLEMS: Array<[yaml: string, problem: string]> = [
    [`${minimal}dataDir: ''`, 'dataDir: must not be empty'],
    [`${minimal}dataDir: 5`, 'dataDir: must be text'],
    [`${minimal}publicUrl: 5`, 'publicUrl: must be an https:// URL'],
    [`${minimal}listen: 5`, 'listen: must be a mapping'],
    [`${minimal}listen: { https: 5 }`, 'listen.https: must be a mapping'],
    [`${minimal}listen: { https: { host: '', port: 1 } }`, 'listen.https.host: must not be empty'],
    [`${minimal}listen: { https: { host: 5, port: 1 } }`, 'listen.https.host: must be text'],
    [`${minimal}listen: { https: { port: 1 } }`, 'listen.https.host: is required'],
    [`${minimal}tls: 5`, 'tls: must be a mapping'],
    [`${minimal}tls: { cert: '' }`, 'tls.cert: must not be empty'],
    [`${minimal}tls: { key: 5 }`, 'tls.key: must be text'],
    [`${minimal}tls: { profile: old }`, 'tls.profile: must be one of intermediate, modern'],
    [
      `${minimal}tls: { hsts: yes }`,
      'tls.hsts: must be true, false or a mapping of maxAge, includeSubDomains and preload',
    ],
    [
      `${minimal}tls: { hsts: 1 }`,
      'tls.hsts: must be true, false or a mapping of maxAge, includeSubDomains and preload',
    ],
    [
      `${minimal}tls: { hsts: { maxAge: 1.5 } }`,
      'tls.hsts.maxAge: must be a whole number from 0 to 63072000',
    ],
    [
      `${minimal}tls: { hsts: { maxAge: "1y" } }`,
      'tls.hsts.maxAge: must be a whole number from 0 to 63072000',
    ],
    [
      `${minimal}tls: { hsts: { maxAge: 63072001 } }`,
      'tls.hsts.maxAge: must be a whole number from 0 to 63072000',
    ],
    [
      `${minimal}tls: { hsts: { includeSubDomains: yes } }`,
      'tls.hsts.includeSubDomains: must be true or false',
    ],
    [`${minimal}tls: { hsts: { preload: 1 } }`, 'tls.hsts.preload: must be true or false'],
    [`${minimal}admin: { sourceCidrs: 10.8.0.0/24 }`, 'admin.sourceCidrs: must be a list'],
    [`${minimal}admin: { listenerOnly: yes }`, 'admin.listenerOnly: must be true or false'],
    [`${minimal}trustedProxies: [5]`, 'trustedProxies.0: must be text'],
    [
      minimal.replace('upstreams: {', 'upstreams: { "a b": 5,'),
      'upstreams.a b: upstream names use letters, digits, - and _',
    ],
    [
      minimal.replace('http://127.0.0.1:8080', 'ftp://127.0.0.1'),
      'upstreams.app.url: must be an http:// or https:// URL',
    ],
    [
      minimal.replace('http://127.0.0.1:8080', 'nope'),
      'upstreams.app.url: must be an http:// or https:// URL',
    ],
    [withUpstream('rewriteDestination: 1'), 'upstreams.app.rewriteDestination: must be true or false'],
    [
      minimal.replace('routes: [ { path: /, upstream: app, auth: public } ]', 'routes: []'),
      'routes: needs at least 1 entry',
    ],
    [
      minimal.replace('routes: [ { path: /, upstream: app, auth: public } ]', 'routes: 5'),
      'routes: must be a list',
    ],
    [withRoute('stripPrefix: 1'), 'routes.0.stripPrefix: must be true or false'],
    [withRoute('forwardAuthorization: 1'), 'routes.0.forwardAuthorization: must be true or false'],
    [minimal.replace('auth: public', 'auth: open'), 'routes.0.auth: must be one of public, admin, token'],
    [
      minimal.replace('auth: public', 'auth: admin, roles: [god]'),
      'routes.0.roles.0: must be one of admin, operator, viewer',
    ],
    [minimal.replace('upstream: app', 'upstream: ""'), 'routes.0.upstream: must not be empty'],
    [`${minimal}ca: 5`, 'ca: must be a mapping'],
    [`${minimal}tokens: { audience: '' }`, 'tokens.audience: must not be empty'],
    [`${minimal}limits: 5`, 'limits: must be a mapping'],
    [
      `${minimal}log: { level: loud }`,
      'log.level: must be one of fatal, error, warn, info, debug, trace, silent',
    ],
    [`${minimal}workers: 1.5`, 'workers: must be auto or a whole number from 1 to 64'],
    [`${minimal}cluster: { replica: 1 }`, 'cluster.replica: must be true or false'],
  ];

  it.each(KIND_PROBLEMS)('names the key and what it must be: %s', (yaml, problem) => {
    expect(problems(yaml)).toEqual([problem]);
  });

  it('takes limits.upstreamRequestsPerClient as a share of each pool (75% by default) or a count', () => {
    expect(load(minimal).limits.upstreamRequestsPerClient).toBe('75%');
    expect(
      load(`${minimal}limits: { upstreamRequestsPerClient: 50% }\n`).limits.upstreamRequestsPerClient,
    ).toBe('50%');
    expect(
      load(`${minimal}limits: { upstreamRequestsPerClient: 100% }\n`).limits.upstreamRequestsPerClient,
    ).toBe('100%');
    for (const bad of ['0%', '101%', '7.5%', '-5%', '1e2%', '%', '75 %', 'half']) {
      expect(problems(`${minimal}limits: { upstreamRequestsPerClient: "${bad}" }\n`)).toEqual([
        "limits.upstreamRequestsPerClient: must be a share of the upstream's connections from 1% to 100% or a whole number from 1 to 100000",
      ]);
    }
  });

  it('reads tls.profile (also MAILGATE_TLS_PROFILE) and tls.hsts (true = one year)', () => {
    expect(load(minimal, { MAILGATE_TLS_PROFILE: 'modern' }).tls.profile).toBe('modern');
    expect(load(`${minimal}tls: { hsts: true }\n`).tls.hsts).toEqual({
      maxAge: 31_536_000,
      includeSubDomains: false,
      preload: false,
    });
    expect(load(`${minimal}tls: { hsts: { maxAge: 600, includeSubDomains: true } }\n`).tls.hsts).toEqual({
      maxAge: 600,
      includeSubDomains: true,
      preload: false,
    });
    expect(load(`${minimal}tls: { hsts: false }\n`).tls.hsts).toBeUndefined();
  });

  it('rejects two routes with the same host and prefix', () => {
    const yaml = minimal.replace(
      'routes: [',
      'routes: [ { path: /x/, upstream: app, auth: public }, { path: /X, upstream: app, auth: admin },',
    );
    expect(problems(yaml)).toContain('routes.1: same host and path as routes.0');
  });
});
