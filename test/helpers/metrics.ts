/**
 * @module Gateway metrics for unit tests, with requests already counted.
 */
import { GatewayMetrics } from '../../gateway/metrics.js';
import type { RequestRecord } from '../../gateway/request-record.js';

export type ObservedRequest = [route: string, method: string, status: number, plane: RequestRecord['plane']];

/**
 * A fresh GatewayMetrics that has counted `requests`, in order, each lasting `seconds`.
 * @example const metrics = metricsAfter([['/SOGo', 'GET', 200, 'public']])
 */
export function metricsAfter(requests: readonly ObservedRequest[], seconds = 0.01): GatewayMetrics {
  const metrics = new GatewayMetrics();
  for (const [route, method, status, plane] of requests)
    metrics.observeRequest(route, method, status, plane, seconds);
  return metrics;
}
