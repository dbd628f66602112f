import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { connect as h2connect } from 'node:http2';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendAudit } from '../../store/audit.js';
import { DATABASE_FILE } from '../../store/database.js';
import { runCli } from '../helpers/cli.js';
import { type EchoUpstream, startEchoUpstream } from '../helpers/echo-upstream.js';
import { eventually } from '../helpers/eventually.js';
import { rawGet, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { tempDir, withDatabase } from '../helpers/temp-store.js';

const DAY = 86_400_000;
let echo: EchoUpstream;
let gw: TestGateway;

/** The database's size with its WAL folded in (a checkpoint first, from a connection of its own). */
function databaseBytes(): number {
  withDatabase(gw.dataDir, (db) => db.pragma('wal_checkpoint(TRUNCATE)'));
  return statSync(join(gw.dataDir, DATABASE_FILE)).size;
}

/** `count` requests on one h2 connection without a certificate, each to a path of its own, 100 at a time. */
async function scan(count: number): Promise<number[]> {
  const session = h2connect(`https://127.0.0.1:${gw.port}`, {
    servername: 'localhost',
    rejectUnauthorized: false,
  });
  const statuses: number[] = [];
  try {
    for (let start = 0; start < count; start += 100) {
      const batch = Array.from(
        { length: Math.min(100, count - start) },
        (_, i) =>
          new Promise<number>((resolve, reject) => {
            const stream = session.request({
              ':path': `/_mailgate/admin/api/scan-${start + i}-${'p'.repeat(40)}`,
            });
            let status = 0;
            stream.on('response', (headers) => {
              status = Number(headers[':status']);
            });
            stream.on('error', reject);
            stream.resume();
            stream.on('end', () => resolve(status));
          }),
      );
      statuses.push(...(await Promise.all(batch)));
    }
  } finally {
    session.close();
  }
  return statuses;
}

beforeAll(async () => {
  echo = await startEchoUpstream();
  // A data dir with records from 100 and 10 days ago: the gateway prunes past audit.retentionDays at start.
  const dataDir = join(tempDir('mailgate-audit-'), 'data');
  withDatabase(dataDir, (db) => {
    appendAudit(db, { actor: 'test', action: 'ancient', at: Date.now() - 100 * DAY });
    appendAudit(db, { actor: 'test', action: 'recent', at: Date.now() - 10 * DAY });
  });
  gw = await startTestGateway(
    {
      admin: { sourceCidrs: ['127.0.0.2/32'] },
      audit: { retentionDays: 30 },
      // The scan is one client: the per-address request rate would answer most of it 429 first.
      limits: { clientRequestsPerMinute: 0 },
      upstreams: { app: { url: echo.url } },
      routes: [{ path: '/', upstream: 'app', auth: 'public' }],
    },
    dataDir,
  );
});

afterAll(async () => {
  await gw?.close();
  await echo?.close();
});

// In this order even under --sequence.shuffle: the metrics test counts the flood's denials.
describe('an audit trail that survives a flood (issue 12)', { shuffle: false }, () => {
  it('prunes records past audit.retentionDays at start', async () => {
    const run = await runCli(['audit', '--since', '365d', '--json'], { dataDir: gw.dataDir });
    const actions = JSON.parse(run.stdout).entries.map((e: { action: string }) => e.action);
    expect(actions).toContain('recent');
    expect(actions).not.toContain('ancient');
  });

  it('10,000 distinct-path denials grow the store by < 1 MB; an issuance afterwards is listed first', async () => {
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    const before = databaseBytes();
    const statuses = await scan(10_000);
    expect(statuses.filter((status) => status === 403)).toHaveLength(10_000);
    // One batch a second: wait until the tally holds every denial.
    const tally = await eventually(async () => {
      const run = await runCli(['audit', '--limit', '5', '--json'], { dataDir: gw.dataDir });
      const denied = JSON.parse(run.stdout).entries.find(
        (e: { outcome: string; detail: { count?: number } }) =>
          e.outcome === 'denied' && e.detail.count === 10_000,
      );
      return denied ?? false;
    }, 15_000);
    expect(tally).toMatchObject({
      actor: 'addr:127.0.0.1',
      detail: { reason: 'source_not_allowed', client: '127.0.0.1' },
    });
    const grown = databaseBytes() - before;
    expect(grown).toBeLessThan(1_000_000);

    mkdirSync(join(gw.root, 'later'));
    const issued = await runCli(
      ['ca', 'issue', 'client', '--name', 'later', '--role', 'viewer', '--out', join(gw.root, 'later')],
      {
        dataDir: gw.dataDir,
      },
    );
    expect(issued.code, issued.stderr).toBe(0);
    const listed = await runCli(['audit', '--limit', '1'], { dataDir: gw.dataDir });
    expect(listed.code).toBe(0);
    expect(listed.stdout.trim().split('\n')).toHaveLength(1);
    expect(listed.stdout).toContain('ca.issue');
    expect(listed.stderr).toMatch(
      /^showing the newest 1 records; older ones: mailgate audit --since 24h --before \S+Z\n$/,
    );
    // The notice's command gives the next page.
    const next = /--before (\S+)/.exec(listed.stderr)![1]!;
    const older = await runCli(['audit', '--limit', '1', '--before', next, '--json'], {
      dataDir: gw.dataDir,
    });
    expect(JSON.parse(older.stdout).entries[0].action).not.toBe('ca.issue');
  });

  it('counts the denials in metrics and keeps serving', async () => {
    mkdirSync(join(gw.root, 'reader'));
    const cert = await runCli(
      ['ca', 'issue', 'client', '--name', 'reader', '--role', 'viewer', '--out', join(gw.root, 'reader')],
      {
        dataDir: gw.dataDir,
      },
    );
    expect(cert.code, cert.stderr).toBe(0);
    const tls = {
      ca: gw.caPem,
      localAddress: '127.0.0.2',
      cert: readFileSync(join(gw.root, 'reader', 'reader.crt.pem')),
      key: readFileSync(join(gw.root, 'reader', 'reader.key.pem')),
    };
    await eventually(async () => (await rawGet(gw.port, '/_mailgate/metrics', {}, tls)).status === 200);
    const crossSite = await rawGet(
      gw.port,
      '/_mailgate/admin/api/status',
      { 'sec-fetch-site': 'cross-site' },
      tls,
    );
    expect(crossSite.status).toBe(403);
    const metrics = (await rawGet(gw.port, '/_mailgate/metrics', {}, tls)).body;
    expect(metrics).toMatch(/mailgate_auth_denied_total\{plane="admin",reason="source_not_allowed"\} 1\d{4}/);
    expect(metrics).toMatch(/mailgate_auth_denied_total\{plane="admin",reason="cross_site"\} 1/);
    expect((await rawGet(gw.port, '/', {})).status).toBe(200);
  });
});
