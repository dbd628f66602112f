import { describe, expect, it } from 'vitest';
import { classifyUpstreamError, PayloadTooLargeError, UpstreamTimeoutError } from '../../../gateway/proxy.js';

const coded = (code: string) => Object.assign(new Error(code), { code });

describe('classifyUpstreamError', () => {
  it.each([
    ['a body over the route cap', new PayloadTooLargeError('too large'), 'too_large'],
    ['undici connect timeout', coded('UND_ERR_CONNECT_TIMEOUT'), 'connect_timeout'],
    ['our headers timeout', new UpstreamTimeoutError('headers', 10), 'headers_timeout'],
    ['our body timeout', new UpstreamTimeoutError('body', 10), 'body_timeout'],
    ['undici headers timeout', coded('UND_ERR_HEADERS_TIMEOUT'), 'headers_timeout'],
    ['undici body timeout', coded('UND_ERR_BODY_TIMEOUT'), 'body_timeout'],
    ['undici abort', coded('UND_ERR_ABORTED'), 'aborted'],
    ['an AbortSignal', coded('ABORT_ERR'), 'aborted'],
    ['connection refused', coded('ECONNREFUSED'), 'connect'],
    ['unknown host', coded('ENOTFOUND'), 'connect'],
    ['host unreachable', coded('EHOSTUNREACH'), 'connect'],
    ['network unreachable', coded('ENETUNREACH'), 'connect'],
    ['DNS retry', coded('EAI_AGAIN'), 'connect'],
    ['a reset mid-response', coded('ECONNRESET'), 'socket'],
    ['undici socket error', coded('UND_ERR_SOCKET'), 'socket'],
    ['an error without a code', new Error('odd'), 'socket'],
    ['a thrown non-error', 'a string', 'socket'],
  ])('%s -> %s', (_name, error, kind) => {
    expect(classifyUpstreamError(error)).toBe(kind);
  });
});
