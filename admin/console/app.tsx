/**
 * @module The admin console: server-rendered pages at /_mailgate/admin/ on the admin plane, beside the
 * admin API (/_mailgate/admin/api), calling the same capability functions with the same role checks,
 * validation and audit trail. Loaded lazily by the gateway on the first console request.
 */
import { readFileSync } from 'node:fs';
import type { Context, MiddlewareHandler } from 'hono';
import { Hono } from 'hono';
import { html } from 'hono/html';
import type { Child } from 'hono/jsx';
import type { AdminEnv } from '../admin-env.js';
import { toApiError } from '../api/api-error.js';
import type { AdminApiOptions } from '../api/options.js';
import { auditRoutes } from './audit-page.js';
import { certificateRoutes } from './certificates-page.js';
import { CONSOLE_BASE, type ConsolePage, Layout, Notice, type Viewer } from './layout.js';
import { onboardRoutes } from './onboard-page.js';
import { overviewRoutes } from './overview-page.js';
import { tokenRoutes } from './tokens-page.js';
import { wireguardRoutes } from './wireguard-page.js';

/** One listening socket, as the overview shows it. */
export interface ListenerFact {
  name: 'https' | 'admin' | 'http' | 'metrics';
  address: string;
  port: number;
}

export interface ConsoleOptions extends AdminApiOptions {
  /**
   * The host's middleware that sets the `decision` and `requestId` variables from the reserved request's
   * bindings (the gateway's withReservedContext), run first: the console is handed those bindings.
   */
  reservedContext: MiddlewareHandler<AdminEnv>;
  /** The sockets the gateway listens on. */
  listeners: () => readonly ListenerFact[];
}

/**
 * The policy every console response carries (docs/security.md): nothing inline, nothing from elsewhere,
 * never framed, forms only to this origin, no referrer, no sniffing.
 */
export const CONSOLE_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

const ASSETS: Record<string, { type: string; body: Buffer }> = {
  'console.css': { type: 'text/css; charset=utf-8', body: readAsset('console.css') },
  'console.js': { type: 'text/javascript; charset=utf-8', body: readAsset('console.js') },
};

function readAsset(name: string): Buffer {
  return readFileSync(new URL(`./assets/${name}`, import.meta.url));
}

/** The viewer of the current request, from the admin-plane guard's decision. */
export function viewerOf(c: Context<AdminEnv>): Viewer | undefined {
  const decision = c.get('decision');
  if (!decision?.role || !decision.identity) return undefined;
  return {
    name: decision.identity['x-mailgate-client-cn'] ?? '?',
    serial: decision.principal ?? '?',
    role: decision.role,
  };
}

/** Sends a whole page: the layout around `content`, with `status`. */
export function renderPage(
  c: Context<AdminEnv>,
  { title, page, status = 200 }: { title: string; page: ConsolePage | undefined; status?: number },
  content: Child,
) {
  const body = (
    <Layout title={title} page={page} viewer={viewerOf(c)}>
      {content}
    </Layout>
  );
  return c.html(html`<!doctype html>${body}`, status as 200);
}

/**
 * Creates the console app. Like the admin API, it expects the host to hand it the reserved request's
 * bindings; it reads the guard's decision itself.
 * @example createReservedApp({ ..., adminConsole: async () => (await import('../admin/console/app.js')).createConsole(options) })
 */
export function createConsole(options: ConsoleOptions): Hono<AdminEnv> {
  // Not strict: /_mailgate/admin and /_mailgate/admin/ are the same page.
  const app = new Hono<AdminEnv>({ strict: false }).basePath(CONSOLE_BASE);
  app.use(options.reservedContext);
  app.use(async function consoleHeaders(c, next) {
    await next();
    for (const [name, value] of Object.entries(CONSOLE_HEADERS)) c.res.headers.set(name, value);
    // Pages show tokens, p12 passwords and private keys: no cache may keep any of them.
    if (!c.res.headers.has('cache-control')) c.res.headers.set('cache-control', 'no-store');
  });
  app.get('/assets/:name', (c) => {
    const asset = ASSETS[c.req.param('name')];
    if (!asset) return c.notFound();
    return c.body(new Uint8Array(asset.body), 200, {
      'content-type': asset.type,
      'cache-control': 'private, max-age=86400',
    });
  });
  app.route('/', overviewRoutes(options));
  app.route('/certificates', certificateRoutes(options));
  app.route('/tokens', tokenRoutes(options));
  app.route('/wireguard', wireguardRoutes(options));
  app.route('/onboard', onboardRoutes(options));
  app.route('/audit', auditRoutes(options));
  app.notFound((c) =>
    renderPage(
      c,
      { title: 'Not found', page: undefined, status: 404 },
      <Notice kind="error">{`There is no console page at ${c.req.path}.`}</Notice>,
    ),
  );
  app.onError((error, c) => {
    const refusal = toApiError(error);
    // Anything else is a bug or an unreadable store: the gateway logs it and answers a plain 500.
    if (!refusal) throw error;
    return renderPage(
      c,
      { title: refusal.status === 403 ? 'Not allowed' : 'Not done', page: undefined, status: refusal.status },
      <>
        <Notice kind="error">{refusal.message}</Notice>
        <p>
          <a href={`${CONSOLE_BASE}/${c.req.path.split('/')[3] ?? ''}`}>Back</a>
          <span class="muted">{` · request ${c.get('requestId')}`}</span>
        </p>
      </>,
    );
  });
  return app;
}
