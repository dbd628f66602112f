import { beforeEach, describe, expect, it } from 'vitest';
import { readAudit } from '../../../store/audit.js';
import type { Database } from '../../../store/database.js';
import { revokeToken } from '../../../tokens/revoke-token.js';
import { findToken } from '../../../tokens/token-store.js';
import { tempDatabase } from '../../helpers/temp-store.js';
import { issueTestToken } from '../../helpers/test-token.js';

let db: Database;

beforeEach(() => {
  ({ db } = tempDatabase('mailgate-revoke-'));
});

describe('revokeToken', () => {
  it('revokes once (audited), then refuses as a conflict; unknown ids are not found', async () => {
    const { id } = await issueTestToken(db);
    expect(revokeToken(db, id, 'cli:test', 1_000).revokedAt).toBe(1_000);
    expect(findToken(db, id)!.revokedAt).toBe(1_000);
    expect(readAudit(db, 0).at(-1)).toMatchObject({
      action: 'token.revoke',
      target: id,
      detail: { app: 'shop' },
    });
    expect(() => revokeToken(db, id, 'cli:test')).toThrow(expect.objectContaining({ code: 'ERR_CONFLICT' }));
    expect(() => revokeToken(db, 'tok_nonexistent00000', 'cli:test')).toThrow(
      expect.objectContaining({ code: 'ERR_NOT_FOUND' }),
    );
    expect(readAudit(db, 0).filter((e) => e.action === 'token.revoke')).toHaveLength(1);
  });
});
