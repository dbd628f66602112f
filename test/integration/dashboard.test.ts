import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseRate } from '../../lib/duration.js';
import { openDatabase } from '../../store/database.js';
import { issueToken } from '../../tokens/index.js';
import { type EchoUpstream, startEchoUpstream } from '../helpers/echo-upstream.js';
import { eventually } from '../helpers/eventually.js';
import { rawGet, startTestGateway, type TestGateway } from '../helpers/gateway.js';

const MONITORING = fileURLToPath(new URL('../../monitoring/', import.meta.url));

interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { h: number; w: number; x: number; y: number };
  datasource?: { type: string; uid: string };
  targets?: Array<{ expr: string; refId: string; datasource?: { uid: string } }>;
}

const dashboard = JSON.parse(readFileSync(join(MONITORING, 'grafana-dashboard.json'), 'utf8')) as {
  __inputs: Array<{ name: string; pluginId: string }>;
  schemaVersion: number;
  uid: string;
  panels: Panel[];
  templating: { list: Array<{ name: string; query: { query: string } }> };
};
const dashboardExprs = dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((t) => t.expr));

const alertRules = parseYaml(readFileSync(join(MONITORING, 'alerts.yaml'), 'utf8')) as {
  groups: Array<{ rules: Array<{ alert: string; expr: string }> }>;
};
const alertExprs = alertRules.groups.flatMap((group) => group.rules.map((rule) => rule.expr));

/** What the issue asks the dashboard to show; the test fails when a panel for one of them goes missing. */
const REQUIRED_METRICS = [
  'mailgate_http_requests_total',
  'mailgate_http_request_duration_seconds',
  'mailgate_auth_denied_total',
  'mailgate_token_requests_total',
  'mailgate_rate_limited_total',
  'mailgate_upstream_errors_total',
  'mailgate_certificate_expiry_timestamp_seconds',
  'mailgate_crl_next_update_timestamp_seconds',
  'mailgate_tls_reloads_total',
  'mailgate_process_resident_memory_bytes',
  'mailgate_process_cpu_seconds_total',
];

/** Counted only when a certificate file changes on disk: declared, but no sample in this test. */
const EVENT_ONLY = new Set(['mailgate_tls_reloads_total']);

/** Grafana replaces this placeholder with the data source picked at import. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's import placeholder, not a JS template
const DS_PLACEHOLDER = '${DS_PROMETHEUS}';

/** Labels Prometheus adds at scrape time, and the histogram bucket label. */
const SCRAPE_LABELS = new Set(['instance', 'job', 'le']);

/** The exposition: metric family -> type, and the label names seen on its samples. */
interface Exposition {
  types: Map<string, string>;
  labels: Map<string, Set<string>>;
}

function parseExposition(text: string): Exposition {
  const types = new Map<string, string>();
  const labels = new Map<string, Set<string>>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) types.set(type[1]!, type[2]!);
  }
  for (const line of text.split('\n')) {
    const sample = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? \S+/.exec(line);
    if (!sample) continue;
    const family = familyOf(sample[1]!, types);
    const names = labels.get(family) ?? new Set<string>();
    for (const match of (sample[2] ?? '').matchAll(/(\w+)="/g)) names.add(match[1]!);
    labels.set(family, names);
  }
  return { types, labels };
}

/** The metric family a series name belongs to: `x_bucket`, `x_sum`, `x_count` of a histogram are `x`. */
function familyOf(name: string, types: Map<string, string>): string {
  const base = name.replace(/_(bucket|sum|count)$/, '');
  return base !== name && ['histogram', 'summary'].includes(types.get(base) ?? '') ? base : name;
}

/** The mailgate_ metric names a PromQL expression reads. */
const metricsIn = (expr: string) => [...new Set(expr.match(/\bmailgate_\w+/g) ?? [])];

/** Label names an expression groups by or matches on, minus the ones Prometheus adds. */
function labelsIn(expr: string): string[] {
  const names = new Set<string>();
  for (const m of expr.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g)) {
    for (const label of m[1]!.split(',')) if (label.trim()) names.add(label.trim());
  }
  for (const m of expr.matchAll(/\{([^}]*)\}/g)) {
    for (const matcher of m[1]!.matchAll(/(\w+)\s*(?:=~|!~|!=|=)/g)) names.add(matcher[1]!);
  }
  return [...names].filter((name) => !SCRAPE_LABELS.has(name));
}

/** Each problem an expression has against the exposition: unknown metrics, labels no series carries. */
function problemsOf(expr: string, exposition: Exposition): string[] {
  const problems: string[] = [];
  const families = metricsIn(expr).map((name) => {
    const family = familyOf(name, exposition.types);
    if (!exposition.types.has(family)) problems.push(`${name}: no '# TYPE ${family}' in /metrics`);
    return family;
  });
  const sampled = families.filter((family) => exposition.labels.has(family));
  if (sampled.length > 0) {
    for (const label of labelsIn(expr)) {
      if (!sampled.some((family) => exposition.labels.get(family)!.has(label)))
        problems.push(`label '${label}' is on no sample of ${sampled.join(', ')}`);
    }
  }
  return problems;
}

/** `promtool check rules` on the expressions, Grafana's variables replaced: a real PromQL parse. */
function promtoolCheck(exprs: readonly string[]) {
  const file = join(gw.root, 'dashboard-rules.yaml');
  const rules = exprs.map((expr, i) => ({
    record: `mailgate:dashboard_expr_${i}`,
    expr: expr.replaceAll('$__rate_interval', '5m').replaceAll('$instance', '.*'),
  }));
  writeFileSync(file, JSON.stringify({ groups: [{ name: 'dashboard', rules }] }));
  const result = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8', timeout: 60_000 });
  rmSync(file);
  if (result.error) throw new Error(`promtool not runnable (apt-get install -y prometheus): ${result.error}`);
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

let echo: EchoUpstream;
let gw: TestGateway;
let metricsUrl: string;
let exposition: Exposition;

/** A gateway with a metrics listener, after traffic on every plane: 200, 403, 401, 502, 200 with a token, 429. */
beforeAll(async () => {
  echo = await startEchoUpstream();
  gw = await startTestGateway({
    listen: { https: { host: '127.0.0.1', port: 0 }, metrics: { host: '127.0.0.1', port: 0 } },
    upstreams: {
      mailcow: { url: echo.url },
      templates: { url: echo.url },
      dead: { url: 'http://127.0.0.1:1', connectTimeoutMs: 500 },
    },
    routes: [
      { path: '/admin', upstream: 'mailcow', auth: 'admin' },
      { path: '/api/emails', upstream: 'templates', auth: 'token', scopes: ['send'] },
      { path: '/dead', upstream: 'dead', auth: 'public' },
      { path: '/', upstream: 'mailcow', auth: 'public' },
    ],
  });
  metricsUrl = `http://127.0.0.1:${gw.gateway.addresses.metrics!.port}`;

  const db = openDatabase(gw.dataDir);
  const issue = (app: string, extra: { rate?: ReturnType<typeof parseRate>; burst?: number }) =>
    issueToken(db, {
      app,
      scopes: ['send'],
      ttlMs: 3_600_000,
      issuer: gw.config.publicUrl,
      audience: gw.config.tokens.audience,
      actor: 'test',
      ...extra,
    });
  // The limited token first: once the gateway knows `shop`, it knows `tight` too.
  const tight = await issue('tight', { rate: parseRate('1/min'), burst: 1 });
  const shop = await issue('shop', {});
  db.close();

  const send = (token: string) => rawGet(gw.port, '/api/emails', { authorization: `Bearer ${token}` });
  expect((await rawGet(gw.port, '/')).status).toBe(200);
  expect((await rawGet(gw.port, '/admin')).status).toBe(403);
  expect((await rawGet(gw.port, '/api/emails')).status).toBe(401);
  expect((await rawGet(gw.port, '/dead')).status).toBe(502);
  expect((await rawGet(gw.port, '/x/../admin')).status).toBe(400);
  await eventually(async () => expect((await send(shop.token)).status).toBe(200), 3_000);
  expect((await send(tight.token)).status).toBe(200);
  expect((await send(tight.token)).status).toBe(429);

  const response = await fetch(`${metricsUrl}/metrics`);
  expect(response.status).toBe(200);
  exposition = parseExposition(await response.text());
});

afterAll(async () => {
  await gw?.close();
  await echo?.close();
});

describe('monitoring/grafana-dashboard.json', () => {
  it('is a Grafana dashboard whose panels all query the DS_PROMETHEUS input', () => {
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(dashboard.uid).toBe('mailgate');
    expect(dashboard.__inputs).toEqual([
      expect.objectContaining({ name: 'DS_PROMETHEUS', pluginId: 'prometheus' }),
    ]);
    const ids = dashboard.panels.map((panel) => panel.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of dashboard.panels.filter((p) => p.type !== 'row')) {
      expect(panel.datasource?.uid, panel.title).toBe(DS_PLACEHOLDER);
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      for (const target of panel.targets ?? []) expect(target.expr, panel.title).toMatch(/mailgate_/);
      expect(panel.gridPos.x + panel.gridPos.w, panel.title).toBeLessThanOrEqual(24);
    }
  });

  it('has a panel for every metric the issue asks for', () => {
    const queried = new Set(
      dashboardExprs.flatMap(metricsIn).map((name) => familyOf(name, exposition.types)),
    );
    expect(REQUIRED_METRICS.filter((name) => !queried.has(name))).toEqual([]);
  });

  it('queries only metrics the running gateway exports, with labels its series carry', () => {
    const exprs = [...dashboardExprs, ...dashboard.templating.list.map((v) => v.query.query)];
    expect(exprs.flatMap((expr) => problemsOf(expr, exposition))).toEqual([]);
  });

  it('shows data for every panel after traffic on each plane (only TLS reloads wait for an event)', () => {
    const families = new Set(
      dashboardExprs.flatMap(metricsIn).map((name) => familyOf(name, exposition.types)),
    );
    const empty = [...families].filter((family) => !exposition.labels.has(family) && !EVENT_ONLY.has(family));
    expect(empty).toEqual([]);
  });

  it('holds PromQL that promtool parses', () => {
    const { status, output } = promtoolCheck(dashboardExprs);
    expect(output).toContain('SUCCESS');
    expect(status).toBe(0);
  });

  it('is served the same at /_mailgate/metrics on the metrics listener', async () => {
    const text = await (await fetch(`${metricsUrl}/_mailgate/metrics`)).text();
    expect([...parseExposition(text).types.keys()].sort()).toEqual([...exposition.types.keys()].sort());
  });
});

describe('monitoring/alerts.yaml', () => {
  it('queries only metrics the running gateway exports, with labels its series carry', () => {
    expect(alertExprs.length).toBeGreaterThan(0);
    expect(alertExprs.flatMap((expr) => problemsOf(expr, exposition))).toEqual([]);
  });
});
