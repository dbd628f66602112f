import { describe, expect, it } from 'vitest';
import { GatewayMetrics } from '../../../gateway/metrics.js';
import { metricsAfter } from '../../helpers/metrics.js';

/** The exposition lines of one metric family, without HELP/TYPE. */
async function samples(metrics: GatewayMetrics, family: string) {
  const text = await metrics.registry.metrics();
  return text.split('\n').filter((line) => line.startsWith(family));
}

describe('GatewayMetrics', () => {
  it('exposes request durations as a cumulative histogram per plane', async () => {
    const metrics = new GatewayMetrics();
    for (const seconds of [0.0005, 0.001, 0.003, 0.2, 75])
      metrics.observeRequest('/SOGo', 'GET', 200, 'public', seconds);
    metrics.observeRequest('/_mailgate/metrics', 'GET', 200, 'admin', 0.02);
    const lines = await samples(metrics, 'mailgate_http_request_duration_seconds');
    expect(lines).toContain('mailgate_http_request_duration_seconds_bucket{le="0.001",plane="public"} 2');
    expect(lines).toContain('mailgate_http_request_duration_seconds_bucket{le="0.0025",plane="public"} 2');
    expect(lines).toContain('mailgate_http_request_duration_seconds_bucket{le="0.005",plane="public"} 3');
    expect(lines).toContain('mailgate_http_request_duration_seconds_bucket{le="0.25",plane="public"} 4');
    expect(lines).toContain('mailgate_http_request_duration_seconds_bucket{le="60",plane="public"} 4');
    expect(lines).toContain('mailgate_http_request_duration_seconds_bucket{le="+Inf",plane="public"} 5');
    expect(lines).toContain('mailgate_http_request_duration_seconds_count{plane="public"} 5');
    expect(lines).toContain('mailgate_http_request_duration_seconds_sum{plane="public"} 75.2045');
    expect(lines).toContain('mailgate_http_request_duration_seconds_bucket{le="0.01",plane="admin"} 0');
    expect(lines).toContain('mailgate_http_request_duration_seconds_bucket{le="0.025",plane="admin"} 1');
    expect(lines.filter((line) => line.includes('_bucket'))).toHaveLength(2 * 14);
  });

  it('counts requests per label set, across scrapes', async () => {
    const metrics = metricsAfter([
      ['/SOGo', 'GET', 200, 'public'],
      ['/SOGo', 'GET', 200, 'public'],
      ['/SOGo', 'POST', 200, 'public'],
      ['/SOGo', 'GET', 404, 'public'],
      ['none', 'GET', 404, 'none'],
    ]);
    expect(await samples(metrics, 'mailgate_http_requests_total')).toEqual([
      'mailgate_http_requests_total{route="/SOGo",method="GET",status="200",plane="public"} 2',
      'mailgate_http_requests_total{route="/SOGo",method="POST",status="200",plane="public"} 1',
      'mailgate_http_requests_total{route="/SOGo",method="GET",status="404",plane="public"} 1',
      'mailgate_http_requests_total{route="none",method="GET",status="404",plane="none"} 1',
    ]);
    metrics.observeRequest('/SOGo', 'GET', 200, 'public', 0.01);
    expect(await samples(metrics, 'mailgate_http_requests_total')).toContain(
      'mailgate_http_requests_total{route="/SOGo",method="GET",status="200",plane="public"} 3',
    );
  });

  it('counts methods Node does not know as OTHER, so a client cannot grow /metrics', async () => {
    const metrics = new GatewayMetrics();
    for (const method of ['BREW', 'WHEN', 'PROPFIND']) metrics.observeRequest('/', method, 405, 'public', 0);
    expect(await samples(metrics, 'mailgate_http_requests_total')).toEqual([
      'mailgate_http_requests_total{route="/",method="OTHER",status="405",plane="public"} 2',
      'mailgate_http_requests_total{route="/",method="PROPFIND",status="405",plane="public"} 1',
    ]);
  });
});
