import { describe, expect, it } from 'vitest';
import {
  type ReplicatedState,
  readState,
  revocationFingerprint,
  revokedMembers,
  stateDocument,
} from '../../../gateway/cluster-state.js';

const state: ReplicatedState = {
  caPem: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
  crl: { pem: '-----BEGIN X509 CRL-----\nMIIB\n-----END X509 CRL-----\n', number: 3 },
  jwks: [{ kty: 'OKP', crv: 'Ed25519', x: 'A'.repeat(43), kid: 'k1', alg: 'EdDSA', use: 'sig' }],
  tokens: [
    {
      id: 'tok_a',
      app: 'shop',
      limits: { rate: { count: 60, perMs: 60_000 }, burst: 60, quotaPerDay: undefined },
    },
    { id: 'tok_b', app: 'crm', limits: { rate: { count: 5, perMs: 1_000 }, burst: 2, quotaPerDay: 100 } },
  ],
  roles: new Map([['0a1b', 'admin']]),
  revokedTokens: new Set(['tok_b']),
  revokedSerials: new Set(['0c']),
};
const text = JSON.stringify(stateDocument(state));
const members = revokedMembers(state);

describe('cluster state', () => {
  it('reads back what the origin published', () => {
    expect(members).toEqual(['cert:0c', 'token:tok_b']);
    expect(readState(text, members)).toEqual({ ok: true, state });
  });

  it.each([
    ['no document', null, members, 'no state document'],
    ['a document that is not JSON', '{x', members, 'not JSON'],
    ['a document of another shape', JSON.stringify({ v: 1 }), members, 'state document: caPem'],
    [
      'an unknown member in the document',
      JSON.stringify({ ...JSON.parse(text), extra: 1 }),
      members,
      'state document',
    ],
    ['a CA that is not a PEM certificate', text.replace('BEGIN CERTIFICATE', 'BEGIN KEY'), members, 'caPem'],
    ['an unknown role', text.replace('"admin"', '"root"'), members, 'roles'],
    ['a set that is not a list', text, 'cert:0c', 'not a set'],
    ['a malformed member', text, [...members, 'token:'], 'malformed member'],
    ['a member of no kind', text, [...members, 'user:x'], 'malformed member'],
    ['a set that lost a member', text, ['cert:0c'], 'fewer members'],
  ])('refuses %s whole', (_name, document, set, problem) => {
    const result = readState(document, set);
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.problem).toContain(problem);
  });

  it('a set with more members than counted only revokes more', () => {
    const result = readState(text, [...members, 'token:tok_a']);
    expect(result.ok && [...result.state.revokedTokens].sort()).toEqual(['tok_a', 'tok_b']);
  });

  it('the fingerprint changes with the CRL and the revocations, not with tokens or roles', () => {
    const base = revocationFingerprint(state);
    expect(revocationFingerprint({ ...state, crl: { ...state.crl, number: 4 } })).not.toBe(base);
    expect(revocationFingerprint({ ...state, revokedTokens: new Set(['tok_a', 'tok_b']) })).not.toBe(base);
    expect(revocationFingerprint({ ...state, revokedSerials: new Set(['0c']) })).toBe(base);
  });
});
