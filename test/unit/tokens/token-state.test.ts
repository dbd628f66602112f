import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Database, openDatabase } from '../../../store/database.js';
import { revokeToken } from '../../../tokens/revoke-token.js';
import { rotateSigningKey } from '../../../tokens/signing-keys.js';
import { TokenState } from '../../../tokens/token-state.js';
import { tempDatabase } from '../../helpers/temp-store.js';
import { issueTestToken } from '../../helpers/test-token.js';

let dir: string;
let db: Database;
let cli: Database;

const issue = (overrides = {}) => issueTestToken(cli, overrides);

beforeEach(() => {
  ({ dataDir: dir, db } = tempDatabase('mailgate-state-'));
  // A second connection stands in for the CLI process writing the same file.
  cli = openDatabase(dir);
});

afterEach(() => cli.close());

describe('TokenState', () => {
  it('sees tokens, keys and revocations written by another connection after refresh()', async () => {
    const state = new TokenState(db);
    const { id, kid } = await issue({ quotaPerDay: 10 });
    expect(state.isRevoked(id)).toBe(true); // unknown until refreshed: fail closed
    expect(state.resolveKey(kid)).toBeUndefined();
    state.refresh();
    expect(state.isRevoked(id)).toBe(false);
    expect(state.resolveKey(kid)?.asymmetricKeyType).toBe('ed25519');
    expect(state.limitsFor(id)).toEqual({ rate: { count: 60, perMs: 60_000 }, burst: 60, quotaPerDay: 10 });
    expect(state.status(id)).toMatchObject({ app: 'shop', revoked: false });
    revokeToken(cli, id, 'cli:test');
    state.refresh();
    expect(state.isRevoked(id)).toBe(true);
  });

  it('treats unknown ids as revoked and unknown kids as absent', () => {
    const state = new TokenState(db);
    expect(state.isRevoked('tok_AAAAAAAAAAAAAAAA')).toBe(true);
    expect(state.limitsFor('tok_AAAAAAAAAAAAAAAA')).toBeUndefined();
    expect(state.resolveKey('../../etc/passwd')).toBeUndefined();
  });

  it('keeps old keys after a rotation and skips long-expired tokens', async () => {
    const old = await issue({ ttlMs: 1_000, now: Date.now() - 3 * 86_400_000 });
    const { kid } = await rotateSigningKey(cli, 'cli:test');
    const state = new TokenState(db);
    expect(state.resolveKey(old.kid)).toBeDefined();
    expect(state.resolveKey(kid)).toBeDefined();
    expect(state.status(old.id)).toBeUndefined();
    expect(state.jwks.keys.map((k) => k.kid)).toEqual([kid, old.kid]);
  });
});
