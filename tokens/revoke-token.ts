/**
 * @module Revoking an API token (audited); the gateway sees it on its next data_version poll.
 */
import { ConflictError, NotFoundError } from '../lib/errors.js';
import { appendAudit } from '../store/audit.js';
import type { Database } from '../store/database.js';
import { findToken, markTokenRevoked, type TokenRecord } from './token-store.js';

/**
 * Marks token `id` revoked and records it, in one transaction.
 * @throws NotFoundError for an unknown id, ConflictError when it is already revoked.
 * @example revokeToken(db, 'tok_AbCdEfGhIjKlMnOp', ctx.actor)
 */
export function revokeToken(db: Database, id: string, actor: string, now = Date.now()): TokenRecord {
  return db
    .transaction(() => {
      const token = findToken(db, id);
      if (!token) throw new NotFoundError(`no token with id '${id}'`);
      if (!markTokenRevoked(db, id, now)) {
        throw new ConflictError(
          `token ${id} was already revoked at ${new Date(token.revokedAt!).toISOString()}`,
        );
      }
      appendAudit(db, { actor, action: 'token.revoke', target: id, at: now, detail: { app: token.app } });
      return { ...token, revokedAt: now };
    })
    .immediate();
}
