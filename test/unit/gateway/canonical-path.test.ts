import { describe, expect, it } from 'vitest';
import { canonicalizeTarget } from '../../../gateway/canonical-path.js';

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
    ['/admin;x', '/admin;x', ''],
    ['/file.txt', '/file.txt', ''],
    ['/a/..b', '/a/..b', ''],
    ['/%25', '/%25', ''],
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
  ])('refuses %j (%s)', (raw, reason) => {
    expect(canonicalizeTarget(raw)).toBe(reason);
  });
});
