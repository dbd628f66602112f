/**
 * @module Named defaults applied before validation. With no config file at all, these run the gateway.
 */

export const DEFAULT_HTTPS = { host: '127.0.0.1', port: 8443 } as const;
export const DEFAULT_PUBLIC_URL = 'https://localhost:8443';
/** ActiveSync and SOGo hold requests for up to an hour; a little more so Mailcow times out first. */
export const MAILCOW_TIMEOUT_MS = 3_650_000;
export const DEFAULT_UPSTREAM_TIMEOUT_MS = 60_000;
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
export const DEFAULT_UPSTREAM_CONNECTIONS = 128;
/** How long SIGTERM waits for in-flight requests before closing sockets. */
export const DEFAULT_DRAIN_MS = 10_000;
/** Most gateway workers: past a few per core they only add memory and IPC to the limiter. */
export const MAX_WORKERS = 64;
/**
 * How long a node keeps serving the send and admin planes on the last state it read from Redis (revocations,
 * keys, limits) once Redis stops answering; past it those planes fail closed with 503 cluster_unavailable.
 */
export const DEFAULT_MAX_STALENESS_MS = 30_000;
export const MIN_MAX_STALENESS_MS = 1_000;
export const MAX_MAX_STALENESS_MS = 600_000;
export const DEFAULT_CLIENT_CERT_DAYS = 90;
/** Longest client or server certificate `ca issue` may write (CA/Browser Forum limit for server certs). */
export const DEFAULT_MAX_CERT_DAYS = 397;
export const DEFAULT_CRL_DAYS = 7;
/** HSTS max-age when `tls.hsts: true`: one year, the minimum for browsers' preload lists. */
export const DEFAULT_HSTS_MAX_AGE_S = 31_536_000;
/** Audit records older than this many days are pruned daily. */
export const DEFAULT_AUDIT_RETENTION_DAYS = 90;
export const DEFAULT_TOKEN_AUDIENCE = 'mailgate';
export const DEFAULT_TOKEN_CLOCK_TOLERANCE_S = 30;
/** TLS handshake budget: a mobile client needs well under 2 s; Envoy and HAProxy edge guides use 5-10 s. */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;
/** Request head budget: Envoy's edge guide uses 10 s, nginx 60 s; 20 s tolerates a stalled mobile radio. */
export const DEFAULT_HEADERS_TIMEOUT_MS = 20_000;
/** Idle connection between requests (HTTP/1.1) or with no open stream (h2): nginx's keepalive_timeout. */
export const DEFAULT_KEEP_ALIVE_TIMEOUT_MS = 75_000;
/** Longest pause inside a request body: nginx's client_body_timeout. Uploads may last any time. */
export const DEFAULT_BODY_IDLE_TIMEOUT_MS = 60_000;
/** Request line plus headers: nginx's large_client_header_buffers hold 4 x 8 KiB (big SOGo cookies fit). */
export const DEFAULT_MAX_HEADER_BYTES = 32_768;
/** Header fields per request: Envoy's max_headers_count; browsers and ActiveSync send about 20. */
export const DEFAULT_MAX_HEADER_COUNT = 100;
/** Open connections per address: a NAT with dozens of browsers (6 each over HTTP/1.1) and DAV clients fits. */
export const DEFAULT_CLIENT_CONNECTIONS = 512;
/** Sustained requests per address: 100/s, far above what a NAT full of webmail and DAV clients sends. */
export const DEFAULT_CLIENT_REQUESTS_PER_MINUTE = 6_000;
/** Requests an address may send at once: several SOGo page loads (about 100 requests each). */
export const DEFAULT_CLIENT_REQUEST_BURST = 1_000;
/** Addresses whose request bucket is kept: about 120 bytes each, so at most some 8 MB. */
export const DEFAULT_CLIENT_TABLE_SIZE = 65_536;
/**
 * IPv6 bits that name one client for the per-address limits: an ISP hands each subscriber at least a /64
 * (RFC 6177), which Cloudflare and Fastly also rate-limit as one client.
 */
export const DEFAULT_CLIENT_IPV6_PREFIX = 64;
/** RFC 9113 §6.5.2 recommends no fewer than 100; nginx's http2_max_concurrent_streams is 128. */
export const DEFAULT_H2_MAX_CONCURRENT_STREAMS = 100;
/** Node's own default (10 MiB): bounded, and ample for 100 streams of webmail. */
export const DEFAULT_H2_MAX_SESSION_MEMORY_MIB = 10;
/**
 * Three quarters of each upstream's pool (96 of the default 128 connections). One office or carrier NAT
 * holds one request per ActiveSync device for up to an hour (Ping) besides its webmail and DAV bursts, so
 * a fixed 64 turned a 60-phone office away with 503; a quarter of the pool stays for every other address,
 * and the share grows when `connections` is raised for more devices.
 */
export const DEFAULT_UPSTREAM_REQUESTS_PER_CLIENT = '75%';
/** A request waiting this long for an upstream connection is answered 503 rather than left hanging. */
export const DEFAULT_UPSTREAM_QUEUE_TIMEOUT_MS = 10_000;
/** The `limits` section when it is absent. */
export const DEFAULT_LIMITS = {
  handshakeTimeoutMs: DEFAULT_HANDSHAKE_TIMEOUT_MS,
  headersTimeoutMs: DEFAULT_HEADERS_TIMEOUT_MS,
  keepAliveTimeoutMs: DEFAULT_KEEP_ALIVE_TIMEOUT_MS,
  bodyIdleTimeoutMs: DEFAULT_BODY_IDLE_TIMEOUT_MS,
  maxHeaderBytes: DEFAULT_MAX_HEADER_BYTES,
  maxHeaderCount: DEFAULT_MAX_HEADER_COUNT,
  clientConnections: DEFAULT_CLIENT_CONNECTIONS,
  clientRequestsPerMinute: DEFAULT_CLIENT_REQUESTS_PER_MINUTE,
  clientRequestBurst: DEFAULT_CLIENT_REQUEST_BURST,
  clientTableSize: DEFAULT_CLIENT_TABLE_SIZE,
  clientIpv6Prefix: DEFAULT_CLIENT_IPV6_PREFIX,
  h2MaxConcurrentStreams: DEFAULT_H2_MAX_CONCURRENT_STREAMS,
  h2MaxSessionMemoryMiB: DEFAULT_H2_MAX_SESSION_MEMORY_MIB,
  upstreamRequestsPerClient: DEFAULT_UPSTREAM_REQUESTS_PER_CLIENT,
  upstreamQueueTimeoutMs: DEFAULT_UPSTREAM_QUEUE_TIMEOUT_MS,
} as const;

/**
 * The built-in route table (docs/operations.md, configuration reference): Mailcow behind the public plane,
 * its admin UIs behind the admin plane.
 */
export const DEFAULT_CONFIG = {
  dataDir: './data',
  publicUrl: DEFAULT_PUBLIC_URL,
  listen: { https: { ...DEFAULT_HTTPS } },
  tls: { cert: 'auto', key: 'auto' },
  admin: { sourceCidrs: ['10.8.0.0/24'] },
  trustedProxies: [],
  upstreams: {
    mailcow: { url: 'http://127.0.0.1:8080', timeoutMs: MAILCOW_TIMEOUT_MS },
    templates: { url: 'http://127.0.0.1:8081' },
  },
  routes: [
    { path: '/admin', upstream: 'mailcow', auth: 'admin' },
    { path: '/rspamd', upstream: 'mailcow', auth: 'admin' },
    { path: '/api/emails', upstream: 'templates', auth: 'token', scopes: ['send'], maxBodyBytes: 1_048_576 },
    { path: '/', upstream: 'mailcow', auth: 'public' },
  ],
} as const;
