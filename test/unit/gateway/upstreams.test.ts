import { describe, expect, it } from 'vitest';
import { requestsPerClientOf } from '../../../gateway/upstreams.js';

describe('requestsPerClientOf (limits.upstreamRequestsPerClient against upstreams.NAME.connections)', () => {
  it.each([
    ['the default share of the default pool', '75%', 128, 96],
    ['a share of a raised pool', '75%', 512, 384],
    ['rounded down', '75%', 10, 7],
    ['at least one', '1%', 4, 1],
    ['the whole pool', '100%', 128, 128],
    ['a count, whatever the pool', 64, 128, 64],
    ['a count above the pool (the operator chose so)', 200, 128, 200],
  ] as const)('%s: %s of %i -> %i', (_what, setting, connections, cap) => {
    expect(requestsPerClientOf(setting, connections)).toBe(cap);
  });
});
