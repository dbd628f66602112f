import { describe, expect, it } from 'vitest';
import { type DavOrigins, publicLocation, rewriteDestination } from '../../../gateway/dav-headers.js';

const plain: DavOrigins = {
  publicAuthority: 'mail.example.com',
  upstreamOrigin: 'http://10.0.0.2:8080',
  strippedPrefix: '',
};
const stripped: DavOrigins = { ...plain, strippedPrefix: '/dav' };
const onPort: DavOrigins = { ...plain, publicAuthority: 'localhost:8443' };
const tlsUpstream: DavOrigins = { ...plain, upstreamOrigin: 'https://sogo.internal' };

type Row = [label: string, value: string, origins: DavOrigins, expected: string];
/** A row whose value comes out as it went in. */
const kept = (label: string, value: string, origins: DavOrigins): Row => [label, value, origins, value];

describe('rewriteDestination', () => {
  it.each<Row>([
    [
      'public origin: scheme of the upstream, Host kept',
      'https://mail.example.com/a/b',
      plain,
      'http://mail.example.com/a/b',
    ],
    [
      'host in another case, default port spelled out',
      'HTTPS://Mail.Example.COM:443/a',
      plain,
      'http://mail.example.com/a',
    ],
    [
      'public port kept with the authority',
      'https://localhost:8443/x%20y/',
      onPort,
      'http://localhost:8443/x%20y/',
    ],
    [
      'stripped prefix comes off',
      'https://mail.example.com/dav/cal/1.ics',
      stripped,
      'http://mail.example.com/cal/1.ics',
    ],
    [
      'prefix in another case, query kept',
      'https://mail.example.com/DAV?x=1',
      stripped,
      'http://mail.example.com/?x=1',
    ],
    kept(
      'prefix followed by a parameter (left to the upstream)',
      'https://mail.example.com/dav;p/a',
      stripped,
    ),
    kept('an https upstream keeps https', 'https://mail.example.com/a', tlsUpstream),
    ['origin without a path', 'https://mail.example.com', plain, 'http://mail.example.com/'],
    ['absolute path: only the prefix comes off', '/dav/a', stripped, '/a'],
    // Unchanged: the upstream refuses what it cannot serve, as it would directly.
    kept('another host', 'https://evil.example/a', plain),
    kept('public host on another port', 'https://mail.example.com:8443/a', plain),
    kept('plain http (not the public origin)', 'http://mail.example.com/a', plain),
    kept('a host that merely starts like the public one', 'https://mail.example.com.evil/a', plain),
    kept('userinfo makes it another authority', 'https://x@mail.example.com/a', plain),
    kept('path outside the stripped prefix', 'https://mail.example.com/davx/a', stripped),
    kept('absolute path outside the prefix', '/other', stripped),
    kept('not a URL', 'mail.example.com/a', plain),
    kept('another scheme', 'ftp://mail.example.com/a', plain),
    kept('empty', '', plain),
  ])('%s', (_label, value, origins, expected) => {
    expect(rewriteDestination(value, origins)).toBe(expected);
  });
});

describe('publicLocation', () => {
  it.each<Row>([
    ['upstream origin', 'http://10.0.0.2:8080/a/', plain, 'https://mail.example.com/a/'],
    [
      'upstream scheme with the forwarded Host (built from Host)',
      'http://mail.example.com/a',
      plain,
      'https://mail.example.com/a',
    ],
    ['forwarded Host with its port', 'http://localhost:8443/new/', onPort, 'https://localhost:8443/new/'],
    [
      'stripped prefix put back',
      'http://mail.example.com/cal/',
      stripped,
      'https://mail.example.com/dav/cal/',
    ],
    ['bare origin', 'http://10.0.0.2:8080', stripped, 'https://mail.example.com/dav/'],
    ['query kept', 'http://10.0.0.2:8080?next=1', plain, 'https://mail.example.com/?next=1'],
    ['default port spelled out', 'http://mail.example.com:80/a', plain, 'https://mail.example.com/a'],
    ['https upstream', 'https://sogo.internal/SOGo/', tlsUpstream, 'https://mail.example.com/SOGo/'],
    // Unchanged.
    kept('already public', 'https://mail.example.com/a', plain),
    kept('relative', '/a/b', stripped),
    kept('another site', 'https://accounts.example.net/login', plain),
    kept('upstream host on another port', 'http://10.0.0.2:9090/a', plain),
    kept('a host that merely starts like the upstream', 'http://10.0.0.2:80801/a', plain),
  ])('%s', (_label, value, origins, expected) => {
    expect(publicLocation(value, origins)).toBe(expected);
  });
});
