import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { tempDir } from '../helpers/temp-store.js';

const ENV = {
  ...process.env,
  TEMPLATES_IMAGE: 'registry.example.com/templates:1.0',
  MAILCOW_DIR: '/srv/mailcow',
};

function composeConfig(env: NodeJS.ProcessEnv, ...args: string[]) {
  return spawnSync('docker-compose', ['-f', 'compose.yaml', 'config', ...args], { env, encoding: 'utf8' });
}

describe('compose.yaml', () => {
  it('passes docker-compose config -q', () => {
    const result = composeConfig(ENV, '-q');
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('refuses to render without TEMPLATES_IMAGE, naming it', () => {
    const { TEMPLATES_IMAGE: _, ...env } = ENV;
    const result = composeConfig(env, '-q');
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('set TEMPLATES_IMAGE');
  });

  it('runs mailgate hardened on the host network with the Mailcow certificates read-only', () => {
    const { services } = parse(composeConfig(ENV).stdout);
    const mailgate = services.mailgate;
    expect(mailgate).toMatchObject({
      network_mode: 'host',
      user: '10001:10001',
      read_only: true,
      cap_drop: ['ALL'],
      cap_add: ['NET_BIND_SERVICE'],
      environment: { MAILGATE_DATA_DIR: '/data' },
    });
    expect(mailgate.volumes).toContain('data:/data:rw');
    expect(mailgate.volumes).toContain('/srv/mailcow/data/assets/ssl:/certs:ro');
    expect(mailgate.tmpfs[0]).toMatch(/^\/tmp:.*noexec/);
    expect(services.templates.image).toBe('registry.example.com/templates:1.0');
    expect(services.templates.ports).toEqual(['127.0.0.1:8081:8080/tcp']);
  });
});

describe('compose.yaml: several nodes (redis and replica profiles)', () => {
  it('starts neither Redis nor a replica by default: each belongs to a profile', () => {
    const { services } = parse(composeConfig(ENV).stdout);
    expect(services.mailgate.profiles).toBeUndefined();
    expect(services.templates.profiles).toBeUndefined();
    expect(services.redis.profiles).toEqual(['redis']);
    expect(services['mailgate-replica'].profiles).toEqual(['replica']);
  });

  it('Redis: loopback unless REDIS_BIND says otherwise, password from a file (not the command line), hardened', () => {
    const { services, volumes } = parse(composeConfig(ENV).stdout);
    const redis = services.redis;
    expect(redis.ports).toEqual(['127.0.0.1:6379:6379/tcp']);
    expect(redis.command.join(' ')).not.toMatch(/requirepass|pass/i);
    expect(redis.volumes).toContain('redis-data:/data:rw');
    expect(redis.volumes.some((v: string) => v.endsWith(':/usr/local/etc/redis/redis.conf:ro'))).toBe(true);
    expect(redis).toMatchObject({
      read_only: true,
      cap_drop: ['ALL'],
      security_opt: ['no-new-privileges:true'],
    });
    expect(volumes).toHaveProperty('redis-data');
    const wg = parse(composeConfig({ ...ENV, REDIS_BIND: '10.8.0.1' }).stdout);
    expect(wg.services.redis.ports).toEqual(['10.8.0.1:6379:6379/tcp']);
  });

  it('replica: the same hardened container as mailgate, with its own data volume and configuration', () => {
    const { services } = parse(
      composeConfig({ ...ENV, MAILGATE_REPLICA_CONFIG_FILE: '/srv/replica.yaml' }).stdout,
    );
    const { mailgate, 'mailgate-replica': replica } = services;
    const shared = ({ build: _b, volumes: _v, profiles: _p, ...rest }: Record<string, unknown>) => rest;
    expect(shared(replica)).toEqual(shared(mailgate));
    expect(replica.volumes).toContain('replica-data:/data:rw');
    expect(replica.volumes).toContain('/srv/replica.yaml:/etc/mailgate/mailgate.yaml:ro');
    expect(replica.volumes).not.toContain('data:/data:rw');
    expect(replica.volumes).toContain('/srv/mailcow/data/assets/ssl:/certs:ro');
  });
});

describe('the mailgate healthcheck command', () => {
  let server: Server;
  let status = 200;
  const dir = tempDir('mailgate-compose-');

  beforeAll(async () => {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=mail.example.com',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    server = createServer(
      { cert: readFileSync(join(dir, 'cert.pem')), key: readFileSync(join(dir, 'key.pem')) },
      (req, res) => {
        res.statusCode = req.url === '/_mailgate/healthz' ? status : 404;
        res.end();
      },
    );
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  });

  afterAll(() => {
    server.close();
  });

  /**
   * The healthcheck exactly as compose renders it for MAILGATE_HTTPS_PORT, run with this node
   * (asynchronously: the server answering it lives in this process).
   */
  function healthcheck(port: number): Promise<number | null> {
    const { services } = parse(composeConfig({ ...ENV, MAILGATE_HTTPS_PORT: String(port) }).stdout);
    const [kind, command, ...args] = services.mailgate.healthcheck.test as string[];
    expect([kind, command]).toEqual(['CMD', 'node']);
    const child = spawn(process.execPath, args, { stdio: 'ignore', timeout: 10_000 });
    return new Promise((done) => child.on('close', done));
  }

  it('is healthy when /_mailgate/healthz answers 200 over TLS with a certificate for another name', async () => {
    status = 200;
    expect(await healthcheck((server.address() as AddressInfo).port)).toBe(0);
  });

  it('is unhealthy on any other status or when nothing listens', async () => {
    status = 503;
    expect(await healthcheck((server.address() as AddressInfo).port)).toBe(1);
    expect(await healthcheck(1)).toBe(1);
  });
});

describe('Dockerfile', () => {
  const dockerfile = readFileSync('Dockerfile', 'utf8');
  const ignored = readFileSync('.dockerignore', 'utf8')
    .split('\n')
    .filter((line) => line && !line.startsWith('#'));

  it('copies only sources that exist and are not excluded from the build context', () => {
    const sources = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1]!.split(' '));
    expect(sources.length).toBeGreaterThan(5);
    for (const source of sources) {
      expect(existsSync(source), source).toBe(true);
      expect(ignored, source).not.toContain(source);
    }
    // Every folder the build compiles is copied (tsconfig.build.json's include list).
    const { include } = JSON.parse(readFileSync('tsconfig.build.json', 'utf8')) as { include: string[] };
    for (const folder of include) expect(sources).toContain(folder);
  });

  it('runs as uid 10001 from a stage that holds no build toolchain', () => {
    const runtime = dockerfile.slice(dockerfile.indexOf('AS runtime'));
    expect(runtime).toContain('USER 10001:10001');
    expect(runtime).not.toMatch(/g\+\+|python3/);
    expect(runtime).toContain('setcap cap_net_bind_service=+ep /usr/local/bin/node');
  });
});
