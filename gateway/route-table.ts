/**
 * @module Most-specific route selection (security rule 2): exact host over wildcard over none, then the
 * longest path prefix on a segment boundary. Pure; built once per config.
 */
import type { RouteConfig } from './config/schema.js';

export interface Route extends RouteConfig {
  /** Index in the config's routes list; stable label for logs and metrics. */
  index: number;
  /** Lower-cased prefix without a trailing slash ('' for `/`). */
  prefix: string;
  /** `route.path` as written, used as the metrics label. */
  label: string;
}

const HOST_RANK = { exact: 0, wildcard: 1, any: 2 } as const;

function hostKind(host: string | undefined): keyof typeof HOST_RANK {
  if (host === undefined) return 'any';
  return host.startsWith('*.') ? 'wildcard' : 'exact';
}

/**
 * Normalises a Host / :authority value: lower case, port and trailing dot removed.
 * @example normalizeHost('Mail.Example.com.:8443') // 'mail.example.com'
 */
export function normalizeHost(value: string | undefined): string {
  if (!value) return '';
  let host = value.toLowerCase();
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    return end === -1 ? host : host.slice(0, end + 1);
  }
  const colon = host.indexOf(':');
  if (colon !== -1) host = host.slice(0, colon);
  return host.endsWith('.') ? host.slice(0, -1) : host;
}

/** True when `matchPath` equals `prefix` or continues it at a segment boundary (`/` or `;`). */
export function prefixMatches(matchPath: string, prefix: string): boolean {
  if (prefix === '') return true;
  if (!matchPath.startsWith(prefix)) return false;
  const next = matchPath.charCodeAt(prefix.length);
  return Number.isNaN(next) || next === 0x2f || next === 0x3b;
}

function hostMatches(route: Route, host: string): boolean {
  if (route.host === undefined) return true;
  if (route.host.startsWith('*.'))
    return host.endsWith(route.host.slice(1)) && host.length > route.host.length - 1;
  return route.host === host;
}

export class RouteTable {
  readonly routes: readonly Route[];

  constructor(configs: readonly RouteConfig[]) {
    this.routes = configs
      .map((config, index) => ({
        ...config,
        index,
        prefix: config.path.toLowerCase().replace(/\/+$/, ''),
        label: config.path,
      }))
      .sort(
        (a, b) =>
          HOST_RANK[hostKind(a.host)] - HOST_RANK[hostKind(b.host)] ||
          b.prefix.length - a.prefix.length ||
          a.index - b.index,
      );
  }

  /**
   * The most specific route for a normalised host and a canonical `matchPath`, or undefined.
   * @example table.match('mail.example.com', '/admin/x')
   */
  match(host: string, matchPath: string): Route | undefined {
    for (const route of this.routes) {
      if (hostMatches(route, host) && prefixMatches(matchPath, route.prefix)) return route;
    }
    return undefined;
  }
}
