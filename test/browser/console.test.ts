/// <reference lib="dom" />
/**
 * The admin console in Debian's Chromium (playwright-core), with client certificates in the browser
 * context, against a real gateway on an ephemeral port. Asserts on the store, not only on the pages.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueClientCertificate } from '../../certs/issue-client.js';
import { parseWireGuardCidr } from '../../wireguard/address-pool.js';
import { parseEndpoint } from '../../wireguard/endpoint.js';
import { initServer } from '../../wireguard/init-server.js';
import { tool } from '../helpers/ca-fixture.js';
import { type EchoUpstream, startEchoUpstream } from '../helpers/echo-upstream.js';
import { eventually } from '../helpers/eventually.js';
import { rawGet, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { withDatabase } from '../helpers/temp-store.js';

const SCREENSHOTS = join(process.cwd(), '.test-results', 'screenshots');
const AXE_SOURCE = readFileSync(join(process.cwd(), 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');

type Role = 'admin' | 'operator' | 'viewer';
interface Credential {
  serial: string;
  cert: string;
  key: string;
}

let echo: EchoUpstream;
let gw: TestGateway;
let browser: Browser;
let origin: string;
let console_: string;
const creds: Record<string, Credential> = {};
const contexts: BrowserContext[] = [];

async function issue(name: string, role: Role): Promise<Credential> {
  const issued = await withDatabase(gw.dataDir, (db) =>
    issueClientCertificate(db, gw.dataDir, { name, role, days: 30, actor: 'test', email: undefined }),
  );
  return { serial: issued.serial, cert: issued.certPem, key: issued.keyPem };
}

/** Reads the store through a connection of its own, as another process would. */
function store<T>(read: (db: BetterSqlite3.Database) => T): T {
  const db = new BetterSqlite3(join(gw.dataDir, 'mailgate.db'), { readonly: true });
  try {
    return read(db);
  } finally {
    db.close();
  }
}

const certificateStatus = (serial: string) =>
  store((db) => db.prepare('SELECT revoked_at FROM certificates WHERE serial = ?').get(serial)) as {
    revoked_at: number | null;
  };

/** A browser context presenting `cred` to the gateway's origin (none: no certificate at all). */
async function contextFor(cred: Credential | undefined, viewport = { width: 1280, height: 900 }) {
  const context = await browser.newContext({
    ignoreHTTPSErrors: true,
    viewport,
    acceptDownloads: true,
    ...(cred && {
      clientCertificates: [{ origin, cert: Buffer.from(cred.cert), key: Buffer.from(cred.key) }],
    }),
  });
  contexts.push(context);
  return context;
}

/** A form POST of `body` to `url` sent by the page's own script (same origin, its certificate): status and text. */
function formPostFromPage(page: Page, url: string, body: string): Promise<{ status: number; text: string }> {
  return page.evaluate(
    async (request) => {
      const response = await fetch(request.url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: request.body,
      });
      return { status: response.status, text: await response.text() };
    },
    { url, body },
  );
}

async function screenshot(page: Page, name: string) {
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** Runs axe-core in the page (evaluate is not subject to the page's CSP) and returns serious and critical findings. */
async function accessibilityProblems(page: Page) {
  await page.evaluate(AXE_SOURCE);
  const results = await page.evaluate(async () => {
    // biome-ignore lint/suspicious/noExplicitAny: axe is injected at run time
    const axe = (globalThis as any).axe;
    return axe.run(document, { resultTypes: ['violations'] });
  });
  return (results.violations as Array<{ id: string; impact: string; nodes: Array<{ target: unknown }> }>)
    .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
    .map((violation) => `${violation.id}: ${JSON.stringify(violation.nodes.map((node) => node.target))}`);
}

beforeAll(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  echo = await startEchoUpstream();
  gw = await startTestGateway({
    admin: { sourceCidrs: ['127.0.0.1/32'] },
    upstreams: { mailcow: { url: echo.url } },
    routes: [{ path: '/', upstream: 'mailcow', auth: 'public' }],
  });
  origin = `https://127.0.0.1:${gw.port}`;
  console_ = `${origin}/_mailgate/admin`;
  withDatabase(gw.dataDir, (db) =>
    initServer(db, {
      endpoint: parseEndpoint('vpn.example.test:51820'),
      cidr: parseWireGuardCidr('10.8.0.0/24'),
      actor: 'test',
    }),
  );
  creds.admin = await issue('alice', 'admin');
  creds.operator = await issue('oscar', 'operator');
  creds.viewer = await issue('victor', 'viewer');
  creds.stolen = await issue('laptop-bob', 'viewer');
  creds.target = await issue('carol', 'viewer');
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
});

afterAll(async () => {
  for (const context of contexts) await context.close().catch(() => {});
  await browser?.close();
  await gw?.close();
  await echo?.close();
});

describe('admin console in Chromium with a client certificate', () => {
  it('answers a browser without a certificate with the 403 page, and nothing of the console', async () => {
    const page = await (await contextFor(undefined)).newPage();
    const response = await page.goto(`${console_}/`);
    expect(response!.status()).toBe(403);
    expect(await page.textContent('h1')).toContain('403');
    expect(await page.locator('nav[aria-label="Console"]').count()).toBe(0);
    await screenshot(page, 'no-certificate-403');
  });

  it('serves the overview with the strict policy headers, small enough, and refreshes it live', async () => {
    const page = await (await contextFor(creds.viewer)).newPage();
    const response = await page.goto(`${console_}/`);
    expect(response!.status()).toBe(200);
    const headers = response!.headers();
    expect(headers['content-security-policy']).toBe(
      "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    );
    expect(headers['referrer-policy']).toBe('no-referrer');
    expect(headers['x-content-type-options']).toBe('nosniff');
    expect(headers['cache-control']).toBe('no-store');
    await page.waitForLoadState('load');
    // What the first load transferred: the page, its stylesheet and its script (headers included).
    const loaded = await page.evaluate(() =>
      [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')].map(
        (entry) => ({
          name: entry.name,
          bytes: (entry as PerformanceResourceTiming).transferSize ?? 0,
        }),
      ),
    );
    const transferred = loaded.reduce((sum, entry) => sum + entry.bytes, 0);
    // Nothing from elsewhere: every entry (the page, its stylesheet, its script) is the gateway's own.
    expect(
      loaded.filter((entry) => !entry.name.startsWith(origin)),
      JSON.stringify(loaded),
    ).toEqual([]);
    expect(transferred).toBeGreaterThan(1_000);
    expect(transferred).toBeLessThan(200 * 1024);
    expect(await page.textContent('main')).toContain('Requests per second');
    expect(await page.textContent('main')).toContain('Latency, 95th percentile');
    // One process lists itself (under workers: the primary and each worker).
    expect(await page.locator('section[aria-label="Processes"] td', { hasText: /^gateway$/ }).count()).toBe(
      1,
    );
    expect(await page.locator('td', { hasText: `127.0.0.1:${gw.port}` }).count()).toBe(1);
    // The script replaces the live part every 5 s: it marks the region when it did.
    await page.waitForSelector('[data-live][data-updated]', { timeout: 20_000 });
    expect(await accessibilityProblems(page)).toEqual([]);
    await screenshot(page, 'overview');
  });

  it('a viewer reads every page but is refused every change by the server', async () => {
    const page = await (await contextFor(creds.viewer)).newPage();
    await page.goto(`${console_}/certificates`);
    expect(await page.locator('a', { hasText: 'Revoke' }).count()).toBe(0);
    expect(await page.locator('form[action$="/certificates"][method="post"]').count()).toBe(0);
    expect(await page.textContent('main')).toContain('you need the admin role');
    // Hidden buttons are not the protection: a same-origin form post from the viewer's page is refused.
    const refused = await formPostFromPage(
      page,
      `${console_}/certificates/${creds.target!.serial}/revoke`,
      'reason=keyCompromise',
    );
    expect(refused.status).toBe(403);
    expect(refused.text).toContain('needs the operator role');
    expect(certificateStatus(creds.target!.serial).revoked_at).toBeNull();
    const issueStatus = (await formPostFromPage(page, `${console_}/tokens`, 'app=shop&scopes=send')).status;
    expect(issueStatus).toBe(403);
    expect(store((db) => db.prepare("SELECT count(*) AS n FROM tokens WHERE app = 'shop'").get())).toEqual({
      n: 0,
    });
    for (const path of ['/tokens', '/wireguard', '/onboard', '/audit']) {
      const response = await page.goto(`${console_}${path}`);
      expect(response!.status(), path).toBe(200);
    }
    expect(await page.textContent('main')).toContain('admin.access');
  });

  it('an operator revokes a certificate after confirming; a request with it is refused within a second', async () => {
    const page = await (await contextFor(creds.operator)).newPage();
    expect(
      (await rawGet(gw.port, '/_mailgate/admin/api/status', {}, { ca: gw.caPem, ...creds.stolen })).status,
    ).toBe(200);
    await page.goto(`${console_}/certificates?q=laptop-bob`);
    expect(await page.locator('tbody tr').count()).toBe(1);
    expect(await page.locator('form[action$="/certificates"][method="post"]').count()).toBe(0);
    await page.getByRole('link', { name: 'Revoke laptop-bob' }).click();
    expect(await page.textContent('h1')).toContain('Revoke laptop-bob?');
    await screenshot(page, 'certificate-revoke-confirm');
    await page.selectOption('#revoke-reason', 'keyCompromise');
    await Promise.all([page.waitForURL(/revoked=/), page.click('button:has-text("Revoke certificate")')]);
    expect(await page.textContent('.notice-ok')).toContain('is revoked');
    expect(certificateStatus(creds.stolen!.serial).revoked_at).not.toBeNull();
    // Security rule 4: refused within a second of the revocation's answer.
    await eventually(async () => {
      const response = await rawGet(
        gw.port,
        '/_mailgate/admin/api/status',
        {},
        { ca: gw.caPem, ...creds.stolen },
      );
      expect(response.status).toBe(403);
    }, 1_000);
    // The operator may not issue: the server says so whatever the page shows.
    const issueStatus = (await formPostFromPage(page, `${console_}/certificates`, 'name=mallory&role=admin'))
      .status;
    expect(issueStatus).toBe(403);
    await page.goto(`${console_}/audit?action=console.certificates.revoke`);
    expect(await page.locator('tbody tr').first().textContent()).toContain(creds.stolen!.serial);
  });

  it('an admin issues a token and sees it once, with a copy button', async () => {
    const page = await (await contextFor(creds.admin)).newPage();
    await page.goto(`${console_}/tokens`);
    await page.fill('#token-app', 'newsletter');
    await page.fill('#token-scopes', 'send:smtp');
    await page.fill('#token-quota', '500/day');
    const [response] = await Promise.all([
      page.waitForResponse(
        (r) => r.url().endsWith('/_mailgate/admin/tokens') && r.request().method() === 'POST',
      ),
      page.click('button:has-text("Issue token")'),
    ]);
    expect(response.status()).toBe(201);
    expect(response.headers()['cache-control']).toBe('no-store');
    const token = (await page.textContent('#token-value'))!.trim();
    expect(token.split('.')).toHaveLength(3);
    expect(await page.locator('button[data-copy="token-value"]').count()).toBe(1);
    await screenshot(page, 'token-issued');
    const row = store((db) =>
      db.prepare("SELECT id, quota_per_day FROM tokens WHERE app = 'newsletter'").get(),
    ) as {
      id: string;
      quota_per_day: number;
    };
    expect(row.quota_per_day).toBe(500);
    await page.goto(`${console_}/tokens`);
    expect(await page.content()).not.toContain(token);
    expect(await page.textContent('main')).toContain(row.id);
    await screenshot(page, 'tokens');
    // A bad field gets a clear refusal naming it, and nothing is stored.
    await page.fill('#token-app', 'bad app name!');
    await page.fill('#token-scopes', 'send');
    await page.click('button:has-text("Issue token")');
    expect(await page.textContent('.notice-error')).toMatch(/app/);
    expect(store((db) => db.prepare('SELECT count(*) AS n FROM tokens').get())).toEqual({ n: 1 });
  });

  it('an admin issues a certificate: the p12 download opens with the password shown once', async () => {
    const page = await (await contextFor(creds.admin)).newPage();
    await page.goto(`${console_}/certificates`);
    await page.fill('#cert-name', 'dora');
    await page.selectOption('#cert-role', 'operator');
    await page.click('button:has-text("Issue certificate")');
    const password = (await page.textContent('#p12-password'))!.trim();
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.click('a[download="dora.p12"]'),
    ]);
    const p12 = join(gw.root, 'dora.p12');
    await download.saveAs(p12);
    expect(
      tool('openssl', ['pkcs12', '-in', p12, '-passin', `pass:${password}`, '-nokeys', '-legacy']).out,
    ).toMatch(/CN ?= ?dora/);
    await screenshot(page, 'certificate-issued');
    await page.goto(`${console_}/certificates`);
    expect(await page.content()).not.toContain(password);
    await screenshot(page, 'certificates');
  });

  it('an admin onboards an admin: p12, tunnel config and QR code on the result page', async () => {
    const page = await (await contextFor(creds.admin)).newPage();
    await page.goto(`${console_}/onboard`);
    expect(await accessibilityProblems(page)).toEqual([]);
    await screenshot(page, 'onboard-form');
    await page.fill('#onboard-name', 'erin');
    await page.fill('#onboard-dns', '10.8.0.1');
    await page.click('button:has-text("Onboard")');
    expect(await page.textContent('h1')).toContain('erin is onboarded');
    const password = (await page.textContent('#p12-password'))!.trim();
    const qrWidth = await page.$eval('img.qr', (img) => (img as HTMLImageElement).naturalWidth);
    expect(qrWidth).toBeGreaterThan(100);
    const [p12Download] = await Promise.all([
      page.waitForEvent('download'),
      page.click('a[download="erin.p12"]'),
    ]);
    const p12 = join(gw.root, 'erin.p12');
    await p12Download.saveAs(p12);
    expect(tool('pk12util', ['-l', p12, '-W', password]).code).toBe(0);
    const [confDownload] = await Promise.all([
      page.waitForEvent('download'),
      page.click('a[download="erin.conf"]'),
    ]);
    const conf = readFileSync((await confDownload.path())!, 'utf8');
    expect(conf).toMatch(/^PrivateKey = /m);
    expect(conf).toMatch(/^DNS = 10\.8\.0\.1$/m);
    expect(await page.textContent('main')).toContain('wg syncconf');
    await screenshot(page, 'onboard-result');
    const stored = store((db) => ({
      peer: db.prepare("SELECT address FROM wg_peers WHERE name = 'erin'").get(),
      cert: db.prepare("SELECT role FROM certificates WHERE name = 'erin'").get(),
      audit: db.prepare("SELECT actor FROM audit WHERE action = 'admin.onboard' AND target = 'erin'").get(),
    }));
    expect(stored.peer).toBeDefined();
    expect(stored.cert).toEqual({ role: 'admin' });
    expect(stored.audit).toEqual({ actor: `cert:${creds.admin!.serial}` });
  });

  it('an admin adds a peer with its QR code, disables, enables and removes it', async () => {
    const page = await (await contextFor(creds.admin)).newPage();
    page.on('dialog', (dialog) => void dialog.accept());
    await page.goto(`${console_}/wireguard`);
    await page.fill('#peer-name', 'frank-phone');
    await page.click('button:has-text("Add peer")');
    expect(await page.textContent('h1')).toContain('Peer added');
    expect(await page.$eval('img.qr', (img) => (img as HTMLImageElement).naturalWidth)).toBeGreaterThan(100);
    await screenshot(page, 'wireguard-peer-added');
    const peerDisabled = () =>
      (
        store((db) => db.prepare("SELECT disabled FROM wg_peers WHERE name = 'frank-phone'").get()) as
          | { disabled: number }
          | undefined
      )?.disabled;
    await page.goto(`${console_}/wireguard`);
    await page.click('button:has-text("Disable frank-phone")');
    await page.waitForURL(/done=disable/);
    expect(peerDisabled()).toBe(1);
    await page.click('button:has-text("Enable frank-phone")');
    await page.waitForURL(/done=enable/);
    expect(peerDisabled()).toBe(0);
    await screenshot(page, 'wireguard');
    await page.click('button:has-text("Remove frank-phone")');
    await page.waitForURL(/done=remove/);
    expect(peerDisabled()).toBeUndefined();
  });

  it('a page on another origin, open in the same browser, cannot revoke with a form or with fetch', async () => {
    const target = creds.target!.serial;
    const evil = await startEvilSite(target);
    try {
      const context = await contextFor(creds.admin);
      const page = await context.newPage();
      // The admin is using the console in this browser, then opens the other site.
      await page.goto(`${console_}/certificates`);
      const refused: number[] = [];
      page.on('response', (response) => {
        if (response.url().startsWith(console_) && response.request().method() === 'POST')
          refused.push(response.status());
      });
      await page.goto(`${evil.url}/fetch`);
      await page.waitForFunction(() => document.title === 'done', undefined, { timeout: 15_000 });
      await page.goto(`${evil.url}/form`);
      await page.waitForURL((url) => url.href.startsWith(console_), { timeout: 15_000 });
      await page.waitForLoadState('load');
      expect(await page.textContent('body')).toContain('403');
      expect(refused).toContain(403);
      expect(certificateStatus(target).revoked_at).toBeNull();
      const revocations = store((db) =>
        db
          .prepare(
            "SELECT count(*) AS n FROM audit WHERE action LIKE '%revoke' AND outcome = 'ok' AND target = ?",
          )
          .get(target),
      );
      expect(revocations).toEqual({ n: 0 });
    } finally {
      await evil.close();
    }
  });

  it('keeps every page usable on a phone in portrait and free of serious accessibility findings', async () => {
    const page = await (await contextFor(creds.admin, { width: 390, height: 844 })).newPage();
    for (const path of ['/', '/certificates', '/tokens', '/wireguard', '/audit']) {
      await page.goto(`${console_}${path}`);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow, path).toBeLessThanOrEqual(1);
      expect(await accessibilityProblems(page), path).toEqual([]);
    }
    await screenshot(page, 'phone-audit');
    await page.goto(`${console_}/`);
    await screenshot(page, 'phone-overview');
  });

  it('pages through the audit trail newest first, filtered by outcome', async () => {
    const page = await (await contextFor(creds.admin)).newPage();
    await page.goto(`${console_}/audit`);
    const times = await page.$$eval('tbody time', (nodes) =>
      nodes.map((node) => node.getAttribute('datetime')!),
    );
    expect(times.length).toBeGreaterThan(1);
    expect([...times].sort().reverse()).toEqual(times);
    await page.selectOption('#audit-outcome', 'denied');
    await page.click('button:has-text("Filter")');
    const outcomes = await page.$$eval('tbody .badge', (nodes) => nodes.map((node) => node.textContent));
    expect(outcomes.length).toBeGreaterThan(0);
    expect(new Set(outcomes)).toEqual(new Set(['denied']));
    await screenshot(page, 'audit');
  });
});

/** A second local server on another origin with hostile pages aimed at the console and the API. */
async function startEvilSite(serial: string): Promise<{ url: string; close: () => Promise<void> }> {
  const revokeUrl = `${console_}/certificates/${serial}/revoke`;
  const apiUrl = `${origin}/_mailgate/admin/api/certificates/${serial}/revoke`;
  const pages: Record<string, string> = {
    '/form': `<!doctype html><title>win a prize</title>
<form id="f" method="post" action="${revokeUrl}"><input name="reason" value="keyCompromise"></form>
<script>document.getElementById('f').submit();</script>`,
    '/fetch': `<!doctype html><title>loading</title><script>
Promise.allSettled([
  fetch(${JSON.stringify(revokeUrl)}, { method: 'POST', mode: 'no-cors', credentials: 'include',
    headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'reason=keyCompromise' }),
  fetch(${JSON.stringify(apiUrl)}, { method: 'POST', mode: 'no-cors', credentials: 'include',
    headers: { 'content-type': 'text/plain' }, body: '{"reason":"keyCompromise"}' }),
  fetch(${JSON.stringify(apiUrl)}, { method: 'POST', credentials: 'include',
    headers: { 'content-type': 'application/json' }, body: '{"reason":"keyCompromise"}' }),
]).then(() => { document.title = 'done'; });
</script>`,
  };
  const server: Server = createServer((req, res) => {
    const body = pages[req.url ?? ''];
    res.writeHead(body ? 200 : 404, { 'content-type': 'text/html' }).end(body ?? 'no');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
