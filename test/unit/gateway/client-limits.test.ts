import { describe, expect, it } from 'vitest';
import { headerListSize } from '../../../gateway/client-limits.js';

describe('headerListSize (RFC 9113 §6.5.2: name + value + 32 per field)', () => {
  it.each([
    ['no fields', [], 0],
    ['one field', [':path', '/'], 5 + 1 + 32],
    ['pseudo-headers count too', [':method', 'GET', ':path', '/x', 'x-a', 'b'], 10 + 32 + 7 + 32 + 4 + 32],
    ['an empty value', ['x-empty', ''], 7 + 32],
  ])('%s', (_what, rawHeaders, size) => {
    expect(headerListSize(rawHeaders)).toBe(size);
  });

  it('the size of a 40,000-byte value is over the default 32 KiB limit, 30,000 bytes is under', () => {
    expect(headerListSize([':path', '/', 'x-big', 'a'.repeat(40_000)])).toBeGreaterThan(32_768);
    expect(headerListSize([':path', '/', 'x-big', 'a'.repeat(30_000)])).toBeLessThan(32_768);
  });
});
