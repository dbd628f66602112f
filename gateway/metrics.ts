/**
 * @module Prometheus metrics with `mailgate_` names (DESIGN.md Observability), on an injected registry.
 */
import { METHODS } from 'node:http';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** The methods Node's HTTP/1.1 parser accepts (WebDAV and CalDAV included). */
const KNOWN_METHODS = new Set(METHODS);

export class GatewayMetrics {
  readonly registry: Registry;
  readonly requests: Counter<'route' | 'method' | 'status' | 'plane'>;
  readonly duration: Histogram<'plane'>;
  readonly authDenied: Counter<'plane' | 'reason'>;
  readonly tokenRequests: Counter<'app' | 'outcome'>;
  readonly rateLimited: Counter<'app'>;
  readonly upstreamErrors: Counter<'upstream' | 'kind'>;
  readonly certificateExpiry: Gauge<'kind'>;
  readonly crlNextUpdate: Gauge;
  readonly tlsReloads: Counter<'outcome'>;

  /** Requests counted since the last scrape, by label set; pushed into `requests` by its collect(). */
  readonly #pendingRequests = new Map<string, { labels: Record<string, string>; count: number }>();
  readonly #durationChildren = new Map<string, { observe: (value: number) => void }>();

  /**
   * Counts one answered request and its duration. Counts are kept in a plain map and handed to prom-client
   * at scrape time: its inc() hashes the label set on every call, which is measurable on the hot path.
   */
  observeRequest(route: string, method: string, status: number, plane: string, seconds: number): void {
    // h2 carries any token as a method: one series per invented method would let a client grow /metrics.
    if (!KNOWN_METHODS.has(method)) method = 'OTHER';
    const key = `${route}\u0000${method}\u0000${status}\u0000${plane}`;
    const pending = this.#pendingRequests.get(key);
    if (pending) pending.count++;
    else
      this.#pendingRequests.set(key, { labels: { route, method, status: String(status), plane }, count: 1 });
    let histogram = this.#durationChildren.get(plane);
    if (!histogram) {
      histogram = this.duration.labels(plane);
      this.#durationChildren.set(plane, histogram);
    }
    histogram.observe(seconds);
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
        for (const pending of pendingRequests.values()) {
          if (pending.count === 0) continue;
          this.inc(pending.labels, pending.count);
          pending.count = 0;
        }
      },
    });
    this.duration = new Histogram({
      name: 'mailgate_http_request_duration_seconds',
      help: 'Time from request start to the last response byte, by plane.',
      labelNames: ['plane'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60],
      registers,
    });
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
    this.tlsReloads = new Counter({
      name: 'mailgate_tls_reloads_total',
      help: 'TLS context reloads (certificate files or CRL changed), by outcome.',
      labelNames: ['outcome'],
      registers,
    });
  }
}
