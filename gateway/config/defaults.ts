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
export const DEFAULT_CLIENT_CERT_DAYS = 90;
/** Longest client or server certificate `ca issue` may write (CA/Browser Forum limit for server certs). */
export const DEFAULT_MAX_CERT_DAYS = 397;
export const DEFAULT_CRL_DAYS = 7;
export const DEFAULT_TOKEN_AUDIENCE = 'mailgate';
export const DEFAULT_TOKEN_CLOCK_TOLERANCE_S = 30;

/** The route table of DESIGN.md: Mailcow behind the public plane, its admin UIs behind the admin plane. */
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
