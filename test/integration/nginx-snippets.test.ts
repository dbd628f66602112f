import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../gateway/config/load.js';
import { nginxConfig } from '../helpers/nginx.js';
import { tempDir } from '../helpers/temp-store.js';

const dir = tempDir('mailgate-nginx-');

const SNIPPET = resolve('nginx/site.mailgate-realip.custom');

/**
 * `nginx -t` on a wrapper shaped like Mailcow's site: its real-IP lines, then the include of
 * site.*.custom inside the same server block, as Mailcow's sites-default template does.
 */
function nginxTest(snippet: string) {
  const conf = join(dir, `nginx-${Math.random().toString(36).slice(2)}.conf`);
  writeFileSync(
    conf,
    nginxConfig(
      dir,
      `  server {
    listen 127.0.0.1:8080;
    set_real_ip_from 10.0.0.0/8;
    set_real_ip_from 172.16.0.0/12;
    set_real_ip_from 192.168.0.0/16;
    set_real_ip_from fc00::/7;
    set_real_ip_from 127.0.0.1;
    real_ip_header X-Forwarded-For;
    real_ip_recursive on;
    include ${snippet};
  }`,
    ),
  );
  return spawnSync('nginx', ['-t', '-q', '-p', dir, '-c', conf, '-g', 'error_log stderr;'], {
    encoding: 'utf8',
  });
}

describe('Mailcow nginx snippets', () => {
  it('site.mailgate-realip.custom passes nginx -t inside a Mailcow-like server block', () => {
    const result = nginxTest(SNIPPET);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('the wrapper is faithful: repeating real_ip_header in a snippet is the fatal error it guards against', () => {
    const bad = join(dir, 'site.bad.custom');
    writeFileSync(bad, 'real_ip_header X-Forwarded-For;\n');
    const result = nginxTest(bad);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('"real_ip_header" directive is duplicate');
  });
});

describe('mailcow.conf.example', () => {
  it('holds the settings that put Mailcow on loopback behind mailgate', () => {
    const lines = readFileSync('nginx/mailcow.conf.example', 'utf8').split('\n');
    const settings = Object.fromEntries(
      lines.filter((line) => /^[A-Z_]+=/.test(line)).map((line) => line.split('=', 2) as [string, string]),
    );
    expect(settings).toEqual({
      HTTP_BIND: '127.0.0.1',
      HTTP_PORT: '8080',
      HTTPS_BIND: '127.0.0.1',
      HTTPS_PORT: '8443',
      HTTP_REDIRECT: 'n',
      TRUSTED_PROXIES: '127.0.0.1',
      ADDITIONAL_SERVER_NAMES: 'webmail.example.com',
      SKIP_LETS_ENCRYPT: 'n',
      ENABLE_SSL_SNI: 'n',
    });
    // Every setting is explained by the comment block right above it.
    lines.forEach((line, i) => {
      if (/^[A-Z_]+=/.test(line) && !lines[i - 1]!.startsWith('#') && !/^[A-Z_]+=/.test(lines[i - 1]!)) {
        throw new Error(`line ${i + 1} (${line}) has no comment`);
      }
    });
  });
});

describe('mailgate.example.yaml', () => {
  it('is a valid mailgate configuration (certificate paths overridden to readable files)', () => {
    const cert = join(dir, 'cert.pem');
    writeFileSync(cert, 'placeholder');
    const config = loadConfig({
      configPath: resolve('nginx/mailgate.example.yaml'),
      env: { MAILGATE_TLS_CERT: cert, MAILGATE_TLS_KEY: cert },
    });
    expect(config.listen).toMatchObject({
      https: { host: '0.0.0.0', port: 443 },
      http: { host: '0.0.0.0', port: 80 },
      admin: { host: '10.8.0.1', port: 9443 },
      metrics: { host: '127.0.0.1', port: 9464 },
    });
    expect(config.upstreams.mailcow!.url).toBe('http://127.0.0.1:8080');
    expect(config.routes.map((r) => `${r.path} ${r.auth}`)).toEqual([
      '/admin admin',
      '/rspamd admin',
      '/api/emails token',
      '/ public',
    ]);
    expect(readFileSync('nginx/mailgate.example.yaml', 'utf8')).toContain('cert: /certs/cert.pem');
  });
});
