import { beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../../store/database.js';
import { authorizeToken } from '../../../tokens/authorize-token.js';
import { revokeToken } from '../../../tokens/revoke-token.js';
import { rotateSigningKey } from '../../../tokens/signing-keys.js';
import { TokenState } from '../../../tokens/token-state.js';
import { createTokenVerifier } from '../../../tokens/verify-token.js';
import { tempDatabase } from '../../helpers/temp-store.js';
import { issueTestToken, TEST_ISSUER } from '../../helpers/test-token.js';

let db: Database;

const issue = (scopes: string[]) => issueTestToken(db, { scopes, actor: 'test' });

function gateway() {
  const state = new TokenState(db);
  const verifier = createTokenVerifier({
    issuer: TEST_ISSUER,
    audience: 'mailgate',
    resolveKey: (k) => state.resolveKey(k),
  });
  return { state, authorize: (h: string, scopes: string[]) => authorizeToken(verifier, state, h, scopes) };
}

beforeAll(() => {
  ({ db } = tempDatabase('mailgate-authorize-'));
});

describe('authorizeToken', () => {
  it('admits a valid token whose scopes cover the route, with its limits', async () => {
    const { token, id } = await issue(['send:*']);
    const { authorize } = gateway();
    expect(await authorize(`Bearer ${token}`, ['send:welcome'])).toMatchObject({
      id,
      app: 'shop',
      limits: { burst: 60 },
    });
  });

  it('refuses a missing scope with ERR_TOKEN_SCOPE', async () => {
    const { token } = await issue(['send:welcome']);
    await expect(gateway().authorize(`Bearer ${token}`, ['send:invoice'])).rejects.toMatchObject({
      code: 'ERR_TOKEN_SCOPE',
    });
  });

  it('refuses a revoked token even when its verification is cached', async () => {
    const { token, id } = await issue(['send']);
    const { state, authorize } = gateway();
    await authorize(`Bearer ${token}`, ['send']);
    revokeToken(db, id, 'test');
    state.refresh();
    await expect(authorize(`Bearer ${token}`, ['send'])).rejects.toMatchObject({ code: 'ERR_TOKEN_REVOKED' });
  });

  it('refuses a validly signed token whose row is gone (fail closed)', async () => {
    const { token, id } = await issue(['send']);
    db.prepare('DELETE FROM tokens WHERE id = ?').run(id);
    await expect(gateway().authorize(`Bearer ${token}`, ['send'])).rejects.toMatchObject({
      code: 'ERR_TOKEN_REVOKED',
    });
  });

  it('keeps old tokens valid after keys rotate, and signs new ones with the new kid', async () => {
    const before = await issue(['send']);
    const { kid } = await rotateSigningKey(db, 'test');
    const after = await issue(['send']);
    expect(after.kid).toBe(kid);
    expect(before.kid).not.toBe(kid);
    const { authorize } = gateway();
    expect((await authorize(`Bearer ${before.token}`, ['send'])).kid).toBe(before.kid);
    expect((await authorize(`Bearer ${after.token}`, ['send'])).kid).toBe(kid);
  });
});
