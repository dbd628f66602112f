import { describe, expect, it } from 'vitest';
import type { RouteConfig } from '../../../gateway/config/schema.js';
import { normalizeHost, prefixMatches, RouteTable } from '../../../gateway/route-table.js';

const route = (path: string, extra: Partial<RouteConfig> = {}): RouteConfig => ({
  path,
  upstream: 'u',
  auth: 'public',
  stripPrefix: false,
  forwardAuthorization: false,
  ...extra,
});

const table = new RouteTable([
  route('/'),
  route('/admin', { auth: 'admin' }),
  route('/admin/api', { auth: 'token', scopes: ['x'] }),
  route('/', { host: 'mail.example.com' }),
  route('/', { host: '*.example.com', auth: 'admin' }),
  route('/rspamd/', { auth: 'admin' }),
]);

describe('RouteTable.match', () => {
  it.each([
    ['', '/', 0],
    ['', '/admin', 1],
    ['', '/admin/', 1],
    ['', '/admin/x', 1],
    ['', '/admin;jsessionid=1', 1],
    ['', '/administrator', 0],
    ['', '/admin/api', 2],
    ['', '/admin/apix', 1],
    ['', '/rspamd', 5],
    ['', '/rspamd/stat', 5],
    ['mail.example.com', '/admin', 3],
    ['other.example.com', '/x', 4],
    ['example.com', '/x', 0],
    ['evil-example.com', '/x', 0],
  ])('host %j path %s -> routes[%i]', (host, path, index) => {
    expect(table.match(host, path)?.index).toBe(index);
  });

  it('matches nothing when no catch-all exists', () => {
    expect(new RouteTable([route('/a')]).match('', '/b')).toBeUndefined();
  });
});

describe('prefixMatches', () => {
  it.each([
    ['/admin', '/admin', true],
    ['/admin/x', '/admin', true],
    ['/admin;x', '/admin', true],
    ['/administrator', '/admin', false],
    ['/admin.php', '/admin', false],
    ['/anything', '', true],
  ])('%s under %j: %s', (path, prefix, expected) => {
    expect(prefixMatches(path, prefix)).toBe(expected);
  });
});

describe('normalizeHost', () => {
  it.each([
    ['Mail.Example.COM', 'mail.example.com'],
    ['mail.example.com.:8443', 'mail.example.com'],
    ['[::1]:8443', '[::1]'],
    [undefined, ''],
  ])('%j -> %j', (input, output) => {
    expect(normalizeHost(input)).toBe(output);
  });
});
