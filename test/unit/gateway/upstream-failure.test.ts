import { describe, expect, it } from 'vitest';
import type { UpstreamFailure } from '../../../gateway/proxy.js';
import { upstreamFailureCode } from '../../../gateway/upstream-failure.js';

describe('upstreamFailureCode', () => {
  it.each<[UpstreamFailure, string | undefined]>([
    ['connect', 'upstream_unreachable'],
    ['connect_timeout', 'upstream_unreachable'],
    ['socket', 'upstream_unreachable'],
    ['headers_timeout', 'upstream_timeout'],
    ['body_timeout', 'upstream_timeout'],
    ['too_large', 'payload_too_large'],
    // The client left first: no answer, the connection is closed.
    ['aborted', undefined],
  ])('%s -> %s', (failure, code) => {
    expect(upstreamFailureCode(failure)).toBe(code);
  });
});
