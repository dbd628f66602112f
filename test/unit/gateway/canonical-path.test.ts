import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type CanonicalTarget,
  canonicalizeTarget,
  pathAfterPrefix,
} from '../../../gateway/canonical-path.js';
import { hostilePath } from '../../helpers/hostile-paths.js';

describe('canonicalizeTarget', () => {
  it.each([
    ['/', '/', ''],
    ['/SOGo/so/user', '/SOGo/so/user', ''],
    ['//admin', '/admin', ''],
    ['/a///b//', '/a/b/', ''],
    ['/%61dmin', '/admin', ''],
    ['/%7euser', '/~user', ''],
    ['/a%20b', '/a%20b', ''],
    ['/a%c3%a9', '/a%C3%A9', ''],
    ['/x?y=%2F..&z=1', '/x', '?y=%2F..&z=1'],
    ['/file.txt', '/file.txt', ''],
    ['/a/..b', '/a/..b', ''],
    ['/%25', '/%25', ''],
    ['/100%25', '/100%25', ''],
    ['/%25zz', '/%25zz', ''],
    ['/%25/x', '/%25/x', ''],
    ['/%25%20', '/%25%20', ''],
    ['/%25g1', '/%25g1', ''],
    ['/caf%C3%A9', '/caf%C3%A9', ''],
    ['/%e2%82%ac', '/%E2%82%AC', ''],
    ['/%F0%9F%98%80', '/%F0%9F%98%80', ''],
    ['/%ED%9F%BF', '/%ED%9F%BF', ''],
    ['/%F4%8F%BF%BF', '/%F4%8F%BF%BF', ''],
    ['/.well-known/x', '/.well-known/x', ''],
    ['/a/...b', '/a/...b', ''],
  ])('%s -> %s %s', (raw, path, query) => {
    expect(canonicalizeTarget(raw)).toEqual({ path, matchPath: path.toLowerCase(), query });
  });

  it.each([
    ['http://host/admin', 'not_origin_form'],
    ['*', 'not_origin_form'],
    ['', 'not_origin_form'],
    ['/x/../admin', 'dot_segment'],
    ['/admin/./x', 'dot_segment'],
    ['/..', 'dot_segment'],
    ['/a/.', 'dot_segment'],
    ['/%2e%2e/admin', 'encoded_separator'],
    ['/.%2E/admin', 'encoded_separator'],
    ['/admin%2fx', 'encoded_separator'],
    ['/admin%2F', 'encoded_separator'],
    ['/admin%3bx', 'encoded_separator'],
    ['/admin%5cx', 'backslash'],
    ['/admin\\x', 'backslash'],
    ['/admin%00', 'control_character'],
    ['/admin%0a', 'control_character'],
    ['/admin\u0001', 'control_character'],
    ['/admin?\u0000', 'control_character'],
    ['/admin%zz', 'bad_percent_encoding'],
    ['/admin%2', 'bad_percent_encoding'],
    ['/adm\u00efn', 'non_ascii'],
    ['/admin#frag', 'fragment'],
    // A second percent-decode would read another path.
    ['/%252fadmin', 'double_encoding'],
    ['/%2561dmin', 'double_encoding'],
    ['/x/%252e%252e/admin', 'double_encoding'],
    ['/%25%32%66admin', 'double_encoding'],
    ['/%25%32fadmin', 'double_encoding'],
    ['/%252Fadmin', 'double_encoding'],
    ['/%25252fadmin', 'double_encoding'],
    ['/%255c', 'double_encoding'],
    // Dropping `;` parameters would read another path.
    ['/x/..;/admin', 'dot_segment'],
    ['/x/..;a=b/admin', 'dot_segment'],
    ['/.;/admin', 'dot_segment'],
    ['/;x/admin', 'path_parameter'],
    ['/;/admin', 'path_parameter'],
    ['/x/;x', 'path_parameter'],
    ['/admin/;', 'path_parameter'],
    // Dropping trailing dots would read a dot segment.
    ['/.../admin', 'dot_segment'],
    ['/x/....', 'dot_segment'],
    ['/x/...;y', 'dot_segment'],
    // Overlong, truncated or out-of-range UTF-8 (decoders that accept it read `/`, `.` or `\`).
    ['/%C0%AFadmin', 'invalid_utf8'],
    ['/%c0%ae%c0%ae/admin', 'invalid_utf8'],
    ['/%C1%9C', 'invalid_utf8'],
    ['/%E0%80%AF', 'invalid_utf8'],
    ['/%E0%9F%BF', 'invalid_utf8'],
    ['/%F0%80%80%AF', 'invalid_utf8'],
    ['/%F0%8F%BF%BF', 'invalid_utf8'],
    ['/%F4%90%80%80', 'invalid_utf8'],
    ['/%F5%80%80%80', 'invalid_utf8'],
    ['/%FF', 'invalid_utf8'],
    ['/%ED%A0%80', 'invalid_utf8'],
    ['/%80', 'invalid_utf8'],
    ['/%C3', 'invalid_utf8'],
    ['/%C3/', 'invalid_utf8'],
    ['/%C3a', 'invalid_utf8'],
    ['/%C3%C3', 'invalid_utf8'],
    ['/%E2%82', 'invalid_utf8'],
    ['/%E2%82?x', 'invalid_utf8'],
    ['/%', 'bad_percent_encoding'],
    ['/%?x', 'bad_percent_encoding'],
  ])('refuses %j (%s)', (raw, reason) => {
    expect(canonicalizeTarget(raw)).toBe(reason);
  });

  it.each([
    // Parameters and trailing dots are dropped for matching only: the stricter reading routes.
    ['/admin;x', '/admin;x', '/admin'],
    ['/Admin;JSESSIONID=1/x', '/Admin;JSESSIONID=1/x', '/admin/x'],
    ['/admin./x', '/admin./x', '/admin/x'],
    ['/admin..', '/admin..', '/admin'],
    ['/a.;x/b.', '/a.;x/b.', '/a/b'],
    ['/a;x.;y', '/a;x.;y', '/a'],
    ['//a;x//b', '/a;x/b', '/a/b'],
  ])('%s routes as %s by %s', (raw, path, matchPath) => {
    expect(canonicalizeTarget(raw)).toEqual({ path, matchPath, query: '' });
  });

  it('keeps the raw string when it is already canonical', () => {
    const raw = '/SOGo/so/user@example.com/Calendar/personal/a%20b.ics';
    expect((canonicalizeTarget(raw) as CanonicalTarget).path).toBe(raw);
  });
});

describe('pathAfterPrefix', () => {
  it.each([
    ['/app/x', '/app', '/x'],
    ['/app', '/app', '/'],
    ['/app/', '/app', '/'],
    ['/App/x/y', '/app', '/x/y'],
    ['/app;v=1/x', '/app', '/x'],
    ['/app;v=1', '/app', '/'],
    ['/app./x', '/app', '/x'],
    ['/a/b;x/c', '/a/b', '/c'],
    ['/a./b../c/d', '/a/b', '/c/d'],
  ])('%s without %s is %s', (path, prefix, rest) => {
    expect(pathAfterPrefix(path, prefix)).toBe(rest);
  });

  it('equals slicing the prefix off whenever path and matchPath have the same length', () => {
    fc.assert(
      fc.property(hostilePath, fc.integer({ min: 1, max: 3 }), (raw, depth) => {
        const target = canonicalizeTarget(raw);
        if (typeof target === 'string') return;
        const segments = target.matchPath.split('/').slice(1, depth + 1);
        if (segments.length < depth || segments.includes('')) return;
        const prefix = `/${segments.join('/')}`;
        const rest = pathAfterPrefix(target.path, prefix);
        expect(rest.startsWith('/')).toBe(true);
        if (target.path.length === target.matchPath.length)
          expect(rest).toBe(target.path.slice(prefix.length) || '/');
      }),
      { numRuns: 5_000 },
    );
  });
});

describe('canonicalizeTarget properties', () => {
  it('canonicalising twice equals canonicalising once', () => {
    fc.assert(
      fc.property(hostilePath, (raw) => {
        const once = canonicalizeTarget(raw);
        if (typeof once === 'string') return;
        expect(canonicalizeTarget(once.path + once.query)).toEqual(once);
      }),
      { numRuns: 20_000 },
    );
  });

  it('never leaves a dot segment, an empty parameter segment or a second-decode escape', () => {
    fc.assert(
      fc.property(hostilePath, (raw) => {
        const once = canonicalizeTarget(raw);
        if (typeof once === 'string') return;
        for (const segment of once.matchPath.split('/').slice(1, -1)) {
          expect(segment === '' || segment === '.' || segment === '..').toBe(false);
        }
        expect(once.path).not.toMatch(/%25[0-9a-f]{2}|\\|%2f|%5c|%2e|%3b|%c0|%c1/i);
      }),
      { numRuns: 20_000 },
    );
  });
});
