/**
 * @module A plain API token for tests of the tokens capability: app `shop`, scope `send`, an hour, the
 * example issuer; a test overrides only what it is about.
 */
import type { Database } from '../../store/database.js';
import { type IssueTokenOptions, issueToken } from '../../tokens/issue-token.js';

export const TEST_ISSUER = 'https://mail.example.com';

/** The issue options of the plain test token, with `overrides` in place. */
export function testTokenOptions(overrides: Partial<IssueTokenOptions> = {}): IssueTokenOptions {
  return {
    app: 'shop',
    scopes: ['send'],
    ttlMs: 3_600_000,
    issuer: TEST_ISSUER,
    audience: 'mailgate',
    actor: 'cli:test',
    ...overrides,
  };
}

/**
 * Issues the plain test token (with `overrides`) into `db`.
 * @example const { id, token } = await issueTestToken(db, { scopes: ['send:welcome'] })
 */
export function issueTestToken(db: Database, overrides: Partial<IssueTokenOptions> = {}) {
  return issueToken(db, testTokenOptions(overrides));
}
