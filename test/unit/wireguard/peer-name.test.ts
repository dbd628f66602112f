import { describe, expect, it } from 'vitest';
import { validatePeerName } from '../../../wireguard/peer-name.js';

describe('validatePeerName', () => {
  it.each(['alice', 'alice@laptop', 'ops-1.phone', 'a_b', 'x'.repeat(64)])('accepts %s', (name) => {
    expect(validatePeerName(name)).toBe(name);
  });

  it.each(['', 'x'.repeat(65), '../etc', 'a..b', 'a/b', 'a b', 'ä', 'a\nb'])('rejects %j', (name) => {
    expect(() => validatePeerName(name)).toThrow(/^peer NAME must be 1-64 characters/);
  });
});
