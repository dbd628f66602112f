import { describe, expect, it } from 'vitest';
import { scopesCover } from '../../../tokens/scopes.js';

describe('scopesCover', () => {
  it.each<[string[], string[], boolean]>([
    [['send'], ['send'], true],
    [['send:*'], ['send:welcome'], true],
    [['send:*'], ['send:welcome:de'], true],
    [['send:*'], ['send'], false],
    [['send:*'], ['sender:x'], false],
    [['send'], ['send:welcome'], false],
    [['send:welcome'], ['send:*'], false],
    [['*'], ['send'], false],
    [['send:welcome'], ['send:reset'], false],
    [[], ['send'], false],
    [['anything'], [], true],
    [['send', 'send:bulk'], ['send', 'send:bulk'], true],
    [['send'], ['send', 'send:bulk'], false],
    [['send:*', 'read'], ['send:bulk', 'read'], true],
  ])('granted %j covers %j: %s', (granted, required, expected) => {
    expect(scopesCover(granted, required)).toBe(expected);
  });
});
