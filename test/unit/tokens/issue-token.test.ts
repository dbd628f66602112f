import { decodeJwt, decodeProtectedHeader } from 'jose';
import { beforeEach, describe, expect, it } from 'vitest';
import { readAudit } from '../../../store/audit.js';
import type { Database } from '../../../store/database.js';
import { type IssueTokenOptions, issueToken } from '../../../tokens/issue-token.js';
import { TOKEN_ID } from '../../../tokens/token-format.js';
import { TokenState } from '../../../tokens/token-state.js';
import { findToken } from '../../../tokens/token-store.js';
import { createTokenVerifier } from '../../../tokens/verify-token.js';
import { tempDatabase } from '../../helpers/temp-store.js';
import { testTokenOptions } from '../../helpers/test-token.js';

const NOW = Date.UTC(2026, 10, 28, 12, 0, 0);
const base: IssueTokenOptions = testTokenOptions({
  scopes: ['send:welcome', 'send:reset'],
  ttlMs: 90 * 86_400_000,
  now: NOW,
});

let db: Database;

beforeEach(() => {
  ({ db } = tempDatabase('mailgate-issue-'));
});

describe('issueToken', () => {
  it('signs a JWS with the pinned header and claims, and the verifier accepts it', async () => {
    const issued = await issueToken(db, base);
    expect(issued.id).toMatch(TOKEN_ID);
    expect(issued.expiresAt).toBe(new Date(NOW + 90 * 86_400_000).toISOString());
    expect(decodeProtectedHeader(issued.token)).toEqual({
      alg: 'EdDSA',
      typ: 'mailgate+jwt',
      kid: issued.kid,
    });
    expect(decodeJwt(issued.token)).toEqual({
      iss: base.issuer,
      aud: base.audience,
      sub: 'shop',
      jti: issued.id,
      scope: 'send:welcome send:reset',
      iat: NOW / 1000,
      nbf: NOW / 1000,
      exp: NOW / 1000 + 90 * 86_400,
    });
    const state = new TokenState(db, () => NOW);
    const verifier = createTokenVerifier({
      issuer: base.issuer,
      audience: base.audience,
      resolveKey: (kid) => state.resolveKey(kid),
      now: () => NOW,
    });
    expect(await verifier.verify(`Bearer ${issued.token}`)).toEqual({
      id: issued.id,
      app: 'shop',
      scopes: ['send:welcome', 'send:reset'],
      exp: NOW / 1000 + 90 * 86_400,
      kid: issued.kid,
    });
  });

  it('stores metadata and limits but never the token, and audits the issue', async () => {
    const issued = await issueToken(db, {
      ...base,
      rate: { count: 10, perMs: 60_000 },
      burst: 5,
      quotaPerDay: 100,
    });
    expect(findToken(db, issued.id)).toMatchObject({
      app: 'shop',
      scopes: ['send:welcome', 'send:reset'],
      kid: issued.kid,
      limits: { rate: { count: 10, perMs: 60_000 }, burst: 5, quotaPerDay: 100 },
      createdAt: NOW,
      revokedAt: undefined,
    });
    const dump = JSON.stringify(db.prepare('SELECT * FROM tokens').all()) + JSON.stringify(readAudit(db, 0));
    expect(dump).not.toContain(issued.token.split('.')[2]);
    expect(readAudit(db, 0).at(-1)).toMatchObject({
      action: 'token.issue',
      target: issued.id,
      actor: 'cli:test',
    });
  });

  it('applies default limits: 60/min, burst 60, no quota', async () => {
    const issued = await issueToken(db, base);
    expect(findToken(db, issued.id)!.limits).toEqual({
      rate: { count: 60, perMs: 60_000 },
      burst: 60,
      quotaPerDay: undefined,
    });
  });

  it.each<[string, Partial<IssueTokenOptions>]>([
    ['a bad app name', { app: 'shop/../x' }],
    ['no scope', { scopes: [] }],
    ['a scope with a space', { scopes: ['send welcome'] }],
    ['a bare * scope', { scopes: ['*'] }],
    ['ttl 0', { ttlMs: 0 }],
    ['burst 0', { burst: 0 }],
    ['quota 0', { quotaPerDay: 0 }],
  ])('refuses %s with a UsageError and writes nothing', async (_what, overrides) => {
    await expect(issueToken(db, { ...base, ...overrides })).rejects.toMatchObject({ code: 'ERR_USAGE' });
    expect(
      db.prepare('SELECT (SELECT count(*) FROM tokens) + (SELECT count(*) FROM audit) AS n').get(),
    ).toEqual({
      n: 0,
    });
  });
});
