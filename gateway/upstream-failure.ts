/**
 * @module What the client is told when the upstream fails, by failure phase: one mapping for plain
 * requests and WebSocket upgrades. Pure.
 */
import type { GatewayErrorCode } from './http-error.js';
import type { UpstreamFailure } from './proxy.js';

const FAILURE_CODE: Record<UpstreamFailure, GatewayErrorCode | undefined> = {
  connect: 'upstream_unreachable',
  connect_timeout: 'upstream_unreachable',
  socket: 'upstream_unreachable',
  headers_timeout: 'upstream_timeout',
  body_timeout: 'upstream_timeout',
  too_large: 'payload_too_large',
  // Every connection busy for limits.upstreamQueueTimeoutMs: the upstream is there but saturated.
  queue_timeout: 'upstream_busy',
  // The client left first: nobody is waiting for an answer.
  aborted: undefined,
};

/**
 * The error response for an upstream failure: 502 when the upstream could not be reached or its socket
 * failed, 504 when it stopped sending within its timeout, 503 when no connection
 * to it came free within the queue timeout, 413 for a body over the route's cap; undefined
 * when the client left first (the connection is closed without an answer).
 * @example upstreamFailureCode('headers_timeout') // 'upstream_timeout'
 */
export function upstreamFailureCode(failure: UpstreamFailure): GatewayErrorCode | undefined {
  return FAILURE_CODE[failure];
}
