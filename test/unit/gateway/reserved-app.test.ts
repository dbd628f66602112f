import { describe, expect, it } from 'vitest';
import { reservedPath } from '../../../gateway/reserved-app.js';

describe('reservedPath (matchPath is canonical and lower-cased)', () => {
  it.each([
    ['/_mailgate/healthz', { plane: 'public', label: '/_mailgate/healthz' }],
    ['/_mailgate/readyz', { plane: 'public', label: '/_mailgate/readyz' }],
    ['/_mailgate/ca.pem', { plane: 'public', label: '/_mailgate/ca.pem' }],
    ['/_mailgate/crl.pem', { plane: 'public', label: '/_mailgate/crl.pem' }],
    ['/.well-known/jwks.json', { plane: 'public', label: '/.well-known/jwks.json' }],
    ['/_mailgate/metrics', { plane: 'admin', label: '/_mailgate/metrics' }],
    ['/_mailgate/admin', { plane: 'admin', label: '/_mailgate/admin' }],
    ['/_mailgate/admin/api/openapi.json', { plane: 'admin', label: '/_mailgate/admin' }],
    // Anything else under /_mailgate is admin (fail closed), with one fixed metric label.
    ['/_mailgate', { plane: 'admin', label: '/_mailgate/*' }],
    ['/_mailgate/', { plane: 'admin', label: '/_mailgate/*' }],
    ['/_mailgate/healthz/x', { plane: 'admin', label: '/_mailgate/*' }],
    ['/_mailgate/metrics/x', { plane: 'admin', label: '/_mailgate/*' }],
    ['/_mailgate/adminx', { plane: 'admin', label: '/_mailgate/*' }],
    ['/_mailgate/some-client-chosen-name', { plane: 'admin', label: '/_mailgate/*' }],
  ])('%s -> %j', (path, expected) => {
    expect(reservedPath(path)).toEqual(expected);
  });

  it.each([
    '/',
    '/_mailgatex',
    '/_mailgatex/healthz',
    '/x/_mailgate/healthz',
    '/.well-known/jwks.json/x',
    '/.well-known/openid-configuration',
    '/admin',
  ])('%s is not reserved', (path) => {
    expect(reservedPath(path)).toBeUndefined();
  });
});
