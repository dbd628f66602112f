/**
 * @module Prometheus metrics with `mailgate_` names (listed in docs/operations.md), on an injected registry.
 */
import { METHODS } from 'node:http';
import { Counter, collectDefaultMetrics, Gauge, type Metric, Registry } from 'prom-client';
import type { AddressLimitCounts, AddressLimits } from './address-limits.js';
import type { RequestRecord } from './request-record.js';

/** The methods Node's HTTP/1.1 parser accepts (WebDAV and CalDAV included), by index; others count as OTHER. */
const METHOD_INDEX = new Map(METHODS.map((method, index) => [method, index]));
type MetricPlane = RequestRecord['plane'];
/** A number per plane, packed into the request series key. */
const PLANE_INDEX: Record<MetricPlane, number> = { public: 0, admin: 1, token: 2, reserved: 3, none: 4 };

/** One label set of mailgate_http_requests_total and its count since the last scrape. */
interface RequestSeries {
  labels: { route: string; method: string; status: string; plane: MetricPlane };
  count: number;
}

/** Upper bounds of mailgate_http_request_duration_seconds, in seconds. */
export const DURATION_BOUNDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60];
const DURATION_NAME = 'mailgate_http_request_duration_seconds';

/** Per plane: requests per bucket (not cumulative; the last one is +Inf) and their sum of seconds. */
interface PlaneDurations {
  counts: number[];
  sum: number;
}

/**
 * mailgate_http_request_duration_seconds{plane}, counted in plain arrays and rendered when scraped:
 * prom-client's Histogram hashes the label set on every observe(), which showed in the per-request
 * profile. The registry reads any metric through name, help, type, aggregator and get().
 */
export class DurationHistogram {
  readonly name = DURATION_NAME;
  readonly help = 'Time from request start to the last response byte, by plane.';
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly #planes = new Map<MetricPlane, PlaneDurations>();

  observe(plane: MetricPlane, seconds: number): void {
    let durations = this.#planes.get(plane);
    if (!durations) {
      durations = { counts: new Array<number>(DURATION_BOUNDS.length + 1).fill(0), sum: 0 };
      this.#planes.set(plane, durations);
    }
    let bucket = 0;
    while (bucket < DURATION_BOUNDS.length && seconds > DURATION_BOUNDS[bucket]!) bucket++;
    durations.counts[bucket]!++;
    durations.sum += seconds;
  }

  /** A plane's requests per bucket since the process started (not cumulative; the last is +Inf), live. */
  slotCounts(plane: MetricPlane): readonly number[] | undefined {
    return this.#planes.get(plane)?.counts;
  }

  /** The exposition prom-client's own Histogram gives: cumulative buckets, +Inf, _sum, _count. */
  get() {
    const values: { metricName: string; labels: Record<string, string | number>; value: number }[] = [];
    for (const [plane, { counts, sum }] of this.#planes) {
      let cumulative = 0;
      for (const [bucket, count] of counts.entries()) {
        cumulative += count;
        const le = DURATION_BOUNDS[bucket] ?? '+Inf';
        values.push({ metricName: `${DURATION_NAME}_bucket`, labels: { le, plane }, value: cumulative });
      }
      values.push({ metricName: `${DURATION_NAME}_sum`, labels: { plane }, value: sum });
      values.push({ metricName: `${DURATION_NAME}_count`, labels: { plane }, value: cumulative });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  reset(): void {
    this.#planes.clear();
  }
}

export class GatewayMetrics {
  readonly registry: Registry;
  readonly requests: Counter<'route' | 'method' | 'status' | 'plane'>;
  readonly duration = new DurationHistogram();
  readonly authDenied: Counter<'plane' | 'reason'>;
  readonly tokenRequests: Counter<'app' | 'outcome'>;
  readonly rateLimited: Counter<'app'>;
  readonly upstreamErrors: Counter<'upstream' | 'kind'>;
  readonly certificateExpiry: Gauge<'kind'>;
  readonly crlNextUpdate: Gauge;
  readonly tlsReloads: Counter<'outcome'>;
  readonly clientLimited: Counter<'limit'>;
  readonly clientAddresses: Gauge<'table'>;
  /** The per-address limits, read at scrape time (see watchAddressLimits). */
  #addressLimits: AddressLimits | undefined;

  /**
   * Requests counted since the last scrape: route, then method, status and plane packed into one number.
   * Handed to prom-client by the counter's collect(): its inc() hashes the label set on every call.
   */
  readonly #pendingRequests = new Map<string, Map<number, RequestSeries>>();

  /** Counts one answered request and its duration; no string is built or hashed per request. */
  observeRequest(route: string, method: string, status: number, plane: MetricPlane, seconds: number): void {
    // h2 carries any token as a method: one series per invented method would let a client grow /metrics.
    const methodIndex = METHOD_INDEX.get(method) ?? METHODS.length;
    const key = (status * 64 + methodIndex) * 8 + PLANE_INDEX[plane];
    let byRoute = this.#pendingRequests.get(route);
    if (!byRoute) {
      byRoute = new Map();
      this.#pendingRequests.set(route, byRoute);
    }
    const series = byRoute.get(key);
    if (series) series.count++;
    else {
      const labels = { route, method: METHODS[methodIndex] ?? 'OTHER', status: String(status), plane };
      byRoute.set(key, { labels, count: 1 });
    }
    this.duration.observe(plane, seconds);
  }

  constructor(registry = new Registry()) {
    this.registry = registry;
    collectDefaultMetrics({ register: registry, prefix: 'mailgate_' });
    const registers = [registry];
    const pendingRequests = this.#pendingRequests;
    this.requests = new Counter({
      name: 'mailgate_http_requests_total',
      help: 'Requests answered, by route (config path or reserved name), method, status and plane.',
      labelNames: ['route', 'method', 'status', 'plane'],
      registers,
      collect() {
        for (const byRoute of pendingRequests.values())
          for (const series of byRoute.values()) {
            if (series.count === 0) continue;
            this.inc(series.labels, series.count);
            series.count = 0;
          }
      },
    });
    // The registry reads only name, help, type, aggregator and get(): see DurationHistogram.
    registry.registerMetric(this.duration as unknown as Metric);
    this.authDenied = new Counter({
      name: 'mailgate_auth_denied_total',
      help: 'Requests refused by a plane guard or the path canonicaliser, by plane and reason.',
      labelNames: ['plane', 'reason'],
      registers,
    });
    this.tokenRequests = new Counter({
      name: 'mailgate_token_requests_total',
      help: 'Send-plane requests with a valid token, by app and outcome (allowed, rate_limited, quota_exceeded, forbidden).',
      labelNames: ['app', 'outcome'],
      registers,
    });
    this.rateLimited = new Counter({
      name: 'mailgate_rate_limited_total',
      help: 'Send-plane requests refused with 429, by app.',
      labelNames: ['app'],
      registers,
    });
    this.upstreamErrors = new Counter({
      name: 'mailgate_upstream_errors_total',
      help: 'Failed upstream exchanges by upstream and phase (connect, connect_timeout, headers_timeout, body_timeout, socket, too_large, aborted).',
      labelNames: ['upstream', 'kind'],
      registers,
    });
    this.certificateExpiry = new Gauge({
      name: 'mailgate_certificate_expiry_timestamp_seconds',
      help: 'notAfter of the served TLS certificate and of the CA, as a Unix timestamp.',
      labelNames: ['kind'],
      registers,
    });
    this.crlNextUpdate = new Gauge({
      name: 'mailgate_crl_next_update_timestamp_seconds',
      help: 'nextUpdate of the CRL loaded into the TLS context, as a Unix timestamp.',
      registers,
    });
    const metrics = this;
    const reported: AddressLimitCounts = { connections: 0, requests: 0 };
    this.clientLimited = new Counter({
      name: 'mailgate_client_limited_total',
      help: 'Refused by the per-address limits: connections over limits.clientConnections, requests over the rate (429).',
      labelNames: ['limit'],
      registers,
      collect() {
        const counts = metrics.#addressLimits?.refused;
        if (!counts) return;
        for (const limit of ['connections', 'requests'] as const) {
          this.inc({ limit }, counts[limit] - reported[limit]);
          reported[limit] = counts[limit];
        }
      },
    });
    this.clientAddresses = new Gauge({
      name: 'mailgate_client_addresses',
      help: 'Clients (addresses; IPv6 by prefix) the per-address limits hold: with an open connection (connections), with a request bucket (buckets).',
      labelNames: ['table'],
      registers,
      collect() {
        const sizes = metrics.#addressLimits?.sizes;
        if (!sizes) return;
        this.set({ table: 'connections' }, sizes.connections);
        this.set({ table: 'buckets' }, sizes.buckets);
      },
    });
    this.tlsReloads = new Counter({
      name: 'mailgate_tls_reloads_total',
      help: 'TLS context reloads (certificate files or CRL changed), by outcome.',
      labelNames: ['outcome'],
      registers,
    });
  }

  /** Reports `limits` (it keeps plain numbers) as mailgate_client_limited_total and mailgate_client_addresses. */
  watchAddressLimits(limits: AddressLimits): void {
    this.#addressLimits = limits;
  }
}
