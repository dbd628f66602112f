/**
 * @module The configuration schema (zod, strict: unknown keys are errors) and the validated Config type.
 */
import { z } from 'zod';
import { CLIENT_ROLES, DEFAULT_CA_DAYS } from '../../certs/rules.js';
import { type Cidr, parseCidr } from '../../lib/cidr.js';
import {
  DEFAULT_AUDIT_RETENTION_DAYS,
  DEFAULT_BODY_IDLE_TIMEOUT_MS,
  DEFAULT_CLIENT_CERT_DAYS,
  DEFAULT_CLIENT_CONNECTIONS,
  DEFAULT_CLIENT_IPV6_PREFIX,
  DEFAULT_CLIENT_REQUEST_BURST,
  DEFAULT_CLIENT_REQUESTS_PER_MINUTE,
  DEFAULT_CLIENT_TABLE_SIZE,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_CRL_DAYS,
  DEFAULT_DRAIN_MS,
  DEFAULT_H2_MAX_CONCURRENT_STREAMS,
  DEFAULT_H2_MAX_SESSION_MEMORY_MIB,
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  DEFAULT_HEADERS_TIMEOUT_MS,
  DEFAULT_HSTS_MAX_AGE_S,
  DEFAULT_HTTPS,
  DEFAULT_KEEP_ALIVE_TIMEOUT_MS,
  DEFAULT_LIMITS,
  DEFAULT_MAX_CERT_DAYS,
  DEFAULT_MAX_HEADER_BYTES,
  DEFAULT_MAX_HEADER_COUNT,
  DEFAULT_MAX_STALENESS_MS,
  DEFAULT_PUBLIC_URL,
  DEFAULT_TOKEN_AUDIENCE,
  DEFAULT_TOKEN_CLOCK_TOLERANCE_S,
  DEFAULT_UPSTREAM_CONNECTIONS,
  DEFAULT_UPSTREAM_QUEUE_TIMEOUT_MS,
  DEFAULT_UPSTREAM_REQUESTS_PER_CLIENT,
  DEFAULT_UPSTREAM_TIMEOUT_MS,
  MAX_MAX_STALENESS_MS,
  MAX_WORKERS,
  MIN_MAX_STALENESS_MS,
} from './defaults.js';

const WORKERS_PROBLEM = `must be auto or a whole number from 1 to ${MAX_WORKERS}`;
/** `workers`: `auto` or a count; the CLI's `--workers` takes the same text. */
export const workersSchema = z.union(
  [
    z.literal('auto'),
    z.number().int(WORKERS_PROBLEM).min(1, WORKERS_PROBLEM).max(MAX_WORKERS, WORKERS_PROBLEM),
  ],
  { error: WORKERS_PROBLEM },
);

const port = wholeNumber(0, 65_535);

const REDIS_URL_PROBLEM = 'must be redis://[user:password@]host:port[/db] (or rediss:// for TLS)';
/**
 * `cluster.redis`: a Redis URL with host, port and an optional database number (0-15). The message never
 * repeats the value, which may hold a password.
 */
const redisUrl = z.string().refine((text) => parseRedisUrl(text) !== undefined, { error: REDIS_URL_PROBLEM });

/** The parts of a valid `cluster.redis` URL, or undefined. */
export function parseRedisUrl(
  text: string,
):
  | { tls: boolean; host: string; port: number; db: number; username?: string; password?: string }
  | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') return undefined;
  if (!url.hostname || !/^\d{1,5}$/.test(url.port) || Number(url.port) > 65_535) return undefined;
  if (url.search || url.hash) return undefined;
  const dbText = url.pathname.replace(/^\//, '');
  if (dbText !== '' && !/^(?:[0-9]|1[0-5])$/.test(dbText)) return undefined;
  return {
    tls: url.protocol === 'rediss:',
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: Number(url.port),
    db: dbText === '' ? 0 : Number(dbText),
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
  };
}

const host = z.string().min(1);
const listener = z.strictObject({ host, port });

const cidr = z.string().transform((text, ctx): Cidr => {
  const parsed = parseCidr(text);
  if (!parsed) {
    ctx.addIssue({ code: 'custom', message: `'${text}' is not a CIDR (e.g. 10.8.0.0/24)` });
    return z.NEVER;
  }
  return parsed;
});

const upstream = z.strictObject({
  /** Base URL of the upstream (http or https); only its origin is used. */
  url: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }),
  /** Whole-request budget in ms: headers and body idle time. Mailcow needs an hour (ActiveSync, SOGo). */
  timeoutMs: wholeNumber(1, 86_400_000).default(DEFAULT_UPSTREAM_TIMEOUT_MS),
  /** TCP/TLS connect budget in ms; past it the gateway answers 502. */
  connectTimeoutMs: wholeNumber(1, 300_000).default(DEFAULT_CONNECT_TIMEOUT_MS),
  /** Most keep-alive connections kept to this upstream. */
  connections: wholeNumber(1, 10_000).default(DEFAULT_UPSTREAM_CONNECTIONS),
  /**
   * WebDAV COPY/MOVE: a Destination naming the public origin is rewritten to the upstream's scheme (Host is
   * forwarded as received, and the route's stripped prefix comes off the path). Turn off for an upstream
   * that expects the public URL, e.g. one that is itself told it runs behind https.
   */
  rewriteDestination: z.boolean().default(true),
});

const route = z.strictObject({
  /** Path prefix, matched on segment boundaries and case-insensitively. */
  path: z
    .string()
    .regex(/^\/[^?#\s\\]*$/, 'must start with / and hold no query, fragment, space or backslash'),
  /** Exact host or `*.example.com`; absent = any host. */
  host: z
    .string()
    .regex(/^(\*\.)?[a-z0-9.-]+$/i, 'must be a host name or *.domain')
    .transform((h) => h.toLowerCase())
    .optional(),
  upstream: z.string().min(1),
  auth: z.enum(['public', 'admin', 'token']),
  /** token routes: scopes the token must hold (one of them covers each). */
  scopes: z.array(z.string().regex(/^[a-z0-9:*._-]+$/i, 'scope has a bad character')).optional(),
  /** admin routes: certificate roles allowed; default [admin]. */
  roles: z.array(z.enum(CLIENT_ROLES)).optional(),
  /** 413 above this request body size; absent = no cap (Mailcow needs none). */
  maxBodyBytes: wholeNumber(1, 1_099_511_627_776).optional(),
  /** Remove the route prefix before forwarding. */
  stripPrefix: z.boolean().default(false),
  /** token routes: forward the Authorization header to the upstream (default: stripped). */
  forwardAuthorization: z.boolean().default(false),
});

/** No certificate outlives its CA (ca init's default validity). */
const MAX_CERT_DAYS = DEFAULT_CA_DAYS;

/**
 * A whole number from `min` to `max`. Every way to miss (another type, a fraction, either bound) gets the
 * same one-line problem naming both bounds, so a typo in a limit is fixed in one go.
 */
function wholeNumber(min: number, max: number) {
  const problem = `must be a whole number from ${min} to ${max}`;
  return z.number({ error: problem }).int(problem).min(min, problem).max(max, problem);
}

const PER_CLIENT_PROBLEM =
  "must be a share of the upstream's connections from 1% to 100% or a whole number from 1 to 100000";
/** `limits.upstreamRequestsPerClient`: a share of the pool (`75%`) or a count; resolved per upstream (upstreams.ts). */
const requestsPerClient = z.union(
  [
    z
      .templateLiteral([z.number(), '%'])
      .refine((share) => /^(100|[1-9][0-9]?)%$/.test(share), PER_CLIENT_PROBLEM),
    z.number().int(PER_CLIENT_PROBLEM).min(1, PER_CLIENT_PROBLEM).max(100_000, PER_CLIENT_PROBLEM),
  ],
  { error: PER_CLIENT_PROBLEM },
);

/** Client-side limits of the TLS listeners (the plain-HTTP listeners use the defaults). Restart to apply. */
const limits = z.strictObject({
  /** ms from TCP accept to a finished TLS handshake; past it the connection is closed. */
  handshakeTimeoutMs: wholeNumber(100, 300_000).default(DEFAULT_HANDSHAKE_TIMEOUT_MS),
  /** ms to receive a request line and headers (HTTP/1.1); past it 408 and close. */
  headersTimeoutMs: wholeNumber(100, 300_000).default(DEFAULT_HEADERS_TIMEOUT_MS),
  /** ms an HTTP/1.1 connection may idle between requests, or an h2 session with no open stream. */
  keepAliveTimeoutMs: wholeNumber(100, 3_600_000).default(DEFAULT_KEEP_ALIVE_TIMEOUT_MS),
  /**
   * ms a request body may stall (no bytes while the gateway is reading); past it 408 (h2: reset) and the
   * upstream request is cancelled. Never applies once the body has ended: long-polls wait for the upstream.
   */
  bodyIdleTimeoutMs: wholeNumber(100, 3_600_000).default(DEFAULT_BODY_IDLE_TIMEOUT_MS),
  /** Request line plus headers, bytes (h2: the header list size); over it 431. */
  maxHeaderBytes: wholeNumber(1_024, 1_048_576).default(DEFAULT_MAX_HEADER_BYTES),
  /** Header fields per request; over it 431 (h2: the stream is reset, ENHANCE_YOUR_CALM). */
  maxHeaderCount: wholeNumber(16, 10_000).default(DEFAULT_MAX_HEADER_COUNT),
  /**
   * Open connections per peer address (nginx limit_conn); more are closed on accept, before TLS. 0 = no cap.
   * Trusted proxies are not capped.
   */
  clientConnections: wholeNumber(0, 1_000_000).default(DEFAULT_CLIENT_CONNECTIONS),
  /** Sustained requests per minute per client address (nginx limit_req); over it 429. 0 = no limit. */
  clientRequestsPerMinute: wholeNumber(0, 60_000_000).default(DEFAULT_CLIENT_REQUESTS_PER_MINUTE),
  /** Requests per client address allowed at once above the sustained rate. */
  clientRequestBurst: wholeNumber(1, 1_000_000).default(DEFAULT_CLIENT_REQUEST_BURST),
  /** Most client addresses whose request rate is tracked at once (memory: about 120 bytes each). */
  clientTableSize: wholeNumber(1_000, 10_000_000).default(DEFAULT_CLIENT_TABLE_SIZE),
  /**
   * Leading bits of an IPv6 client address that the per-address limits above (and the per-client upstream
   * share, the admin denial tallies) count as one client: every address of a /64 shares one count. 128 =
   * each address on its own; IPv4 addresses always count one by one. Logs and the audit keep full addresses.
   */
  clientIpv6Prefix: wholeNumber(32, 128).default(DEFAULT_CLIENT_IPV6_PREFIX),
  /** h2 streams one connection may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS); more are refused. */
  h2MaxConcurrentStreams: wholeNumber(1, 1_000).default(DEFAULT_H2_MAX_CONCURRENT_STREAMS),
  /** Memory one h2 session may hold for frames and headers, MiB (Node's maxSessionMemory); past it, refused streams. */
  h2MaxSessionMemoryMiB: wholeNumber(1, 1_024).default(DEFAULT_H2_MAX_SESSION_MEMORY_MIB),
  /**
   * Requests one client address may have in flight to one upstream at once; more get 503 at once, so a
   * single address or connection cannot hold the upstream's whole pool. A share of each upstream's
   * `connections` (`75%`) or a count (keep it below every upstream's connections).
   */
  upstreamRequestsPerClient: requestsPerClient.default(DEFAULT_UPSTREAM_REQUESTS_PER_CLIENT),
  /** ms a request may wait for a free upstream connection (all in use); past it 503 upstream_busy. */
  upstreamQueueTimeoutMs: wholeNumber(100, 600_000).default(DEFAULT_UPSTREAM_QUEUE_TIMEOUT_MS),
});

const HSTS_PROBLEM = 'must be true, false or a mapping of maxAge, includeSubDomains and preload';
/**
 * `tls.hsts`: `true` is the object's defaults (one year), `false` is off. Read as one object rather than a
 * union of boolean and object, so a bad part (`maxAge: 1.5`) is named instead of 'Invalid input'.
 */
const hsts = z
  .preprocess(
    (value) => (value === true ? {} : value === false ? undefined : value),
    z
      .strictObject(
        {
          /** Seconds (default one year). */
          maxAge: wholeNumber(0, 63_072_000).default(DEFAULT_HSTS_MAX_AGE_S),
          includeSubDomains: z.boolean().default(false),
          /** Browsers' preload lists require includeSubDomains and a max-age of a year or more. */
          preload: z.boolean().default(false),
        },
        { error: HSTS_PROBLEM },
      )
      .optional(),
  )
  .refine((hsts) => !hsts?.preload || (hsts.includeSubDomains && hsts.maxAge >= DEFAULT_HSTS_MAX_AGE_S), {
    message: 'preload needs includeSubDomains: true and a maxAge of at least 31536000',
    path: ['preload'],
  });

export const configSchema = z.strictObject({
  /** Where the SQLite file, CA and TLS keys live (0700). */
  dataDir: z.string().min(1).default('./data'),
  /** The public https URL; its host goes into the auto certificate and the token issuer. */
  publicUrl: z.url({ protocol: /^https$/, error: 'must be an https:// URL' }).default(DEFAULT_PUBLIC_URL),
  listen: z
    .strictObject({
      /** Public TLS entry (HTTP/1.1 and h2). */
      https: listener.default({ ...DEFAULT_HTTPS }),
      /** Optional: ACME passthrough to Mailcow, everything else redirected to https (308). */
      http: listener.optional(),
      /** Optional admin-only listener that requires the client certificate at the handshake. */
      admin: listener.optional(),
      /** Optional plain-HTTP Prometheus endpoint; keep it on loopback. */
      metrics: listener.optional(),
    })
    .default({ https: { ...DEFAULT_HTTPS } }),
  tls: z
    .strictObject({
      /** `auto` (issued by mailgate's CA) or a PEM path, watched and hot-reloaded. */
      cert: z.string().min(1).default('auto'),
      key: z.string().min(1).default('auto'),
      /**
       * Protocols and suites of every TLS listener (Mozilla's guidelines): `intermediate` (TLS 1.2 with
       * ECDHE + AEAD suites, and TLS 1.3) or `modern` (TLS 1.3 only; older phones and Outlook cannot connect).
       */
      profile: z.enum(['intermediate', 'modern']).default('intermediate'),
      /**
       * Strict-Transport-Security on every response of the TLS listeners that has none from its upstream.
       * Off by default: Mailcow's nginx sends its own. `true` = one year; an object sets each part.
       */
      hsts,
    })
    .default({ cert: 'auto', key: 'auto', profile: 'intermediate', hsts: undefined }),
  admin: z
    .strictObject({
      /** Peer addresses allowed on the admin plane (the socket's, never a header). */
      sourceCidrs: z.array(cidr).default([]),
      /**
       * Serve /_mailgate/admin/ (console and API) only on listen.admin: the public listener answers 404 there,
       * so script running on the webmail origin (an XSS in webmail or the Mailcow UI) cannot reach it.
       */
      listenerOnly: z.boolean().default(false),
    })
    .default({ sourceCidrs: [], listenerOnly: false }),
  /** Peers whose X-Forwarded-For is believed; none by default. */
  trustedProxies: z.array(cidr).default([]),
  upstreams: z.record(
    z.string().regex(/^[a-z0-9_-]+$/i, 'upstream names use letters, digits, - and _'),
    upstream,
  ),
  routes: z.array(route).min(1),
  ca: z
    .strictObject({
      /** Validity of client certificates when --days is not given. */
      clientDays: wholeNumber(1, MAX_CERT_DAYS).default(DEFAULT_CLIENT_CERT_DAYS),
      /** Longest validity `ca issue` accepts. */
      maxDays: wholeNumber(1, MAX_CERT_DAYS).default(DEFAULT_MAX_CERT_DAYS),
      /** CRL validity (nextUpdate - thisUpdate); regenerated at half-life. */
      crlDays: wholeNumber(1, 365).default(DEFAULT_CRL_DAYS),
    })
    .default({
      clientDays: DEFAULT_CLIENT_CERT_DAYS,
      maxDays: DEFAULT_MAX_CERT_DAYS,
      crlDays: DEFAULT_CRL_DAYS,
    }),
  tokens: z
    .strictObject({
      /** `aud` of issued tokens and required on verification. */
      audience: z.string().min(1).default(DEFAULT_TOKEN_AUDIENCE),
      /** Allowed clock skew for exp/nbf, seconds. */
      clockToleranceSeconds: wholeNumber(0, 300).default(DEFAULT_TOKEN_CLOCK_TOLERANCE_S),
    })
    .default({ audience: DEFAULT_TOKEN_AUDIENCE, clockToleranceSeconds: DEFAULT_TOKEN_CLOCK_TOLERANCE_S }),
  audit: z
    .strictObject({
      /** Days the audit trail keeps a record; older ones are pruned at start and then daily. */
      retentionDays: wholeNumber(1, 3650).default(DEFAULT_AUDIT_RETENTION_DAYS),
    })
    .default({ retentionDays: DEFAULT_AUDIT_RETENTION_DAYS }),
  limits: limits.default({ ...DEFAULT_LIMITS }),
  log: z
    .strictObject({
      level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    })
    .default({ level: 'info' }),
  /** How long SIGTERM waits for in-flight requests, ms. */
  drainTimeoutMs: wholeNumber(0, 3_600_000).default(DEFAULT_DRAIN_MS),
  /**
   * Gateway processes sharing every listener (node:cluster): `auto` = one per core. 1 runs no primary/worker
   * split at all. Restart to apply.
   */
  workers: workersSchema.default(1),
  /** Several gateway nodes sharing limits, revocations and TLS ticket keys through Redis (docs/operations.md). */
  cluster: z
    .strictObject({
      /** Redis of every node; absent = this node shares nothing beyond its own workers. Restart to apply. */
      redis: redisUrl.optional(),
      /**
       * ms the send and admin planes keep serving on the last state read from Redis when it stops answering;
       * past it they answer 503 cluster_unavailable until Redis is back. The public plane never depends on it.
       */
      maxStalenessMs: wholeNumber(MIN_MAX_STALENESS_MS, MAX_MAX_STALENESS_MS).default(
        DEFAULT_MAX_STALENESS_MS,
      ),
      /**
       * This node has no store of its own: the CA certificate, CRL, token keys and revocations come from
       * Redis, published by the node where the CLI runs. Needs cluster.redis and tls.cert/tls.key files.
       */
      replica: z.boolean().default(false),
    })
    .default({ maxStalenessMs: DEFAULT_MAX_STALENESS_MS, replica: false }),
});

export type Config = z.output<typeof configSchema>;
export type RouteConfig = Config['routes'][number];
export type UpstreamConfig = Config['upstreams'][string];
export type ListenerConfig = z.output<typeof listener>;
export type LimitsConfig = z.output<typeof limits>;
export type AuthKind = RouteConfig['auth'];
