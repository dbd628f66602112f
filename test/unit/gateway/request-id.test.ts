import { describe, expect, it } from 'vitest';
import { nextRequestId } from '../../../gateway/request-id.js';

describe('nextRequestId', () => {
  it('gives UUID-shaped (version 4) ids, each one different', () => {
    const ids = Array.from({ length: 10_000 }, nextRequestId);
    for (const id of ids)
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
