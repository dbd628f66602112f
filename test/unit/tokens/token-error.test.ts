import { describe, expect, it } from 'vitest';
import { bearerChallenge, TokenError, tokenErrorStatus } from '../../../tokens/token-error.js';

describe('bearerChallenge and tokenErrorStatus (RFC 6750 §3)', () => {
  it.each<[TokenError, number, string]>([
    [new TokenError('ERR_TOKEN_MISSING', 'no Bearer credentials'), 401, 'Bearer realm="mailgate"'],
    [
      new TokenError('ERR_TOKEN_INVALID', 'token expired'),
      401,
      'Bearer realm="mailgate", error="invalid_token", error_description="token expired"',
    ],
    [
      new TokenError('ERR_TOKEN_REVOKED', 'token revoked'),
      401,
      'Bearer realm="mailgate", error="invalid_token", error_description="token revoked"',
    ],
    [
      new TokenError('ERR_TOKEN_SCOPE', 'insufficient scope'),
      403,
      'Bearer realm="mailgate", error="insufficient_scope", scope="send:a send:b"',
    ],
  ])('%s → %d %s', (error, status, challenge) => {
    expect(tokenErrorStatus(error)).toBe(status);
    expect(bearerChallenge(error, 'mailgate', ['send:a', 'send:b'])).toBe(challenge);
    expect(error).toMatchObject({ name: 'TokenError', code: error.code });
  });
});
