import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { connect as h2connect } from 'node:http2';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TrafficReport } from '../../admin/api/traffic.js';
import { bucketStart, TRAFFIC_INTERVAL_MS } from '../../gateway/traffic-buckets.js';
import { onCleanup } from '../helpers/cleanup.js';
import { issueCliCertificate, runCli } from '../helpers/cli.js';
import { type EchoUpstream, startEchoUpstream } from '../helpers/echo-upstream.js';
import { clockReaches, eventually } from '../helpers/eventually.js';
import { h2Exchange, rawGet } from '../helpers/gateway.js';
import { listenerAddresses, type ServeProcess, startServe } from '../helpers/serve-process.js';
import { tempDir } from '../helpers/temp-store.js';

// A real 2-worker gateway: the console's traffic (admin API /traffic, the overview's /live) is the whole
// gateway's, whichever worker serves the console request, and agrees with /metrics.
const WORKERS = 2;
const TRAFFIC_PATH = '/_mailgate/admin/api/traffic';

let root: string;
let echo: EchoUpstream;
let serve: ServeProcess;
let adminPort: number;
let metricsPort: number;
let admin: { cert: string; key: string };
/** Public requests this file sent (all on /counted). */
let sent = 0;
/** How many of them each worker served, by worker index, from the access lines. */
const servedBy = new Map<number, number>();

beforeAll(async () => {
  root = tempDir('mailgate-workers-traffic-');
  echo = await startEchoUpstream();
  const configPath = join(root, 'mailgate.yaml');
  writeFileSync(
    configPath,
    `publicUrl: https://localhost
dataDir: ./data
listen:
  https: { host: 127.0.0.1, port: 0 }
  admin: { host: 127.0.0.1, port: 0 }
  metrics: { host: 127.0.0.1, port: 0 }
admin: { sourceCidrs: [127.0.0.0/8] }
upstreams:
  app: { url: '${echo.url}' }
routes:
  - { path: /whoami, upstream: app, auth: admin }
  - { path: /counted, upstream: app, auth: public }
`,
  );
  serve = await startServe(['--config', configPath, '--workers', String(WORKERS)], { cwd: root });
  const listening = await listenerAddresses(serve);
  adminPort = listening.admin!.port;
  metricsPort = listening.metrics!.port;
  admin = await issueCliCertificate(
    (...args) => runCli([...args, '--config', configPath], { cwd: root }),
    'ops',
  );
}, 60_000);

afterAll(async () => {
  if (serve && serve.child.exitCode === null) await serve.stop();
  await echo?.close();
});

/** The access line of the request the upstream saw with `reqId`: which worker (index and pid) served it. */
function servedOf({ body }: { body: string }): Promise<{ worker: number; pid: number }> {
  const reqId = (JSON.parse(body) as { headers: Record<string, string> }).headers['x-request-id'];
  return eventually(() => {
    const line = serve
      .stdout()
      .split('\n')
      .find((l) => l.includes(`"reqId":"${reqId}"`));
    if (!line) throw new Error(`no access line for ${reqId}`);
    const { worker, pid } = JSON.parse(line) as { worker: number; pid: number };
    return { worker, pid };
  });
}

/** `count` public requests, each on a fresh TLS connection, four at a time; counts who served them. */
async function sendPublic(count: number) {
  for (let done = 0; done < count; done += 4) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(4, count - done) }, () => rawGet(serve.port, '/counted')),
    );
    for (const response of batch) {
      expect(response.status).toBe(200);
      const { worker } = await servedOf(response);
      servedBy.set(worker, (servedBy.get(worker) ?? 0) + 1);
      sent++;
    }
  }
}

/** GET on the admin listener with the admin certificate, on a fresh connection. */
const adminGet = (path: string) => rawGet(adminPort, path, {}, admin);

async function traffic(): Promise<TrafficReport> {
  const response = await adminGet(TRAFFIC_PATH);
  expect(response.status, response.body).toBe(200);
  return JSON.parse(response.body) as TrafficReport;
}

/**
 * A traffic read every worker answered (through `reader`, by default a new admin connection), passing
 * `check`: on a loaded machine a worker may miss the primary's 1 s collection deadline (then it is named
 * missing, which the stopped-worker test pins); read again.
 */
function wholeTraffic(
  check: (report: TrafficReport) => void = () => {},
  reader: () => Promise<TrafficReport> = traffic,
): Promise<TrafficReport> {
  return eventually(async () => {
    const read = await reader();
    expect(read.scope).toEqual({ kind: 'workers', workers: WORKERS, missing: [] });
    check(read);
    return read;
  }, 15_000);
}

/** Public requests /metrics counts (every live worker's counters, merged by the primary). */
async function metricsPublic(): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  let total = 0;
  for (const match of text.matchAll(/^mailgate_http_requests_total\{[^}]*plane="public"[^}]*\} (\d+)$/gm))
    total += Number(match[1]);
  return total;
}

const intervalsPublic = (report: TrafficReport) =>
  report.intervals.reduce((sum, interval) => sum + interval.requests.public, 0);

/** The worker processes of the primary, now. */
function workerPids(): number[] {
  const out = spawnSync('pgrep', ['-P', String(serve.child.pid)], { encoding: 'utf8' }).stdout;
  return out.split('\n').filter(Boolean).map(Number);
}

/**
 * An admin h2 session (closed by cleanup), the worker it reached, and the other worker's pid: one worker
 * serves the console's questions while the other is stopped or raced.
 */
async function adminOnOneWorker() {
  const session = h2connect(`https://127.0.0.1:${adminPort}`, { ...admin, rejectUnauthorized: false });
  onCleanup(() => session.close());
  session.on('error', () => {});
  const h2Get = (path: string) => h2Exchange(session, { ':path': path });
  const serving = await servedOf(await h2Get('/whoami'));
  const other = workerPids().find((pid) => pid !== serving.pid)!;
  return { h2Get, serving, other };
}

// One gateway for the file, in order: a worker is killed, then another stopped, on the way.
describe('serve --workers 2: the console shows the whole gateway', { shuffle: false }, () => {
  it('counts every worker: totals equal what was sent and /metrics, read after read', async () => {
    await sendPublic(24);
    // Both workers served some: otherwise this proves nothing about merging.
    expect([...servedBy.keys()].sort()).toEqual([0, 1]);
    const reads = [await wholeTraffic(), await wholeTraffic(), await wholeTraffic()];
    for (const report of reads) {
      expect(report.totals.requests.public).toBe(sent);
      expect(intervalsPublic(report)).toBe(sent);
      expect(report.totals.latency.public.p50).toBeGreaterThan(0);
    }
    await eventually(async () => expect(await metricsPublic()).toBe(sent));
    // What does not add up is listed per process: the primary, then each worker, named by the primary.
    const { processes } = reads.at(-1)!;
    expect(processes.map((p) => p.worker)).toEqual([null, 0, 1]);
    expect(processes[0]!.pid).toBe(serve.child.pid);
    expect(
      processes
        .slice(1)
        .map((p) => p.pid)
        .sort(),
    ).toEqual(workerPids().sort());
    for (const figures of processes) expect(figures.rssBytes).toBeGreaterThan(10_000_000);
    // The connection asking is open on one worker while it answers.
    expect(processes.reduce((sum, p) => sum + p.connections, 0)).toBeGreaterThanOrEqual(1);
    expect(processes.reduce((sum, p) => sum + p.inFlight, 0)).toBeGreaterThanOrEqual(1);
    // The overview's live part says so, and charts the same figures.
    await eventually(async () => {
      const live = await adminGet('/_mailgate/admin/live');
      expect(live.status).toBe(200);
      expect(live.body).toContain(`Summed over all ${WORKERS} worker processes.`);
      expect(live.body).toContain('Latency, 95th percentile');
    }, 15_000);
  });

  it('keeps the counts of a worker that died (as Prometheus keeps its samples); /metrics loses its counters', async () => {
    // Once the bucket of the requests has closed (and the view the primary serves again for a second has
    // expired), a read every worker answers has handed each one's part of that bucket to the primary.
    await clockReaches(bucketStart(Date.now()) + TRAFFIC_INTERVAL_MS + 1_100);
    await wholeTraffic((read) => expect(read.totals.requests.public).toBe(sent));
    const probe = await adminGet('/whoami');
    const victim = await servedOf(probe);
    const before = workerPids();
    process.kill(victim.pid, 'SIGKILL');
    // Its slot is forked again; the new worker answers the collections.
    await eventually(async () => {
      const now = workerPids();
      expect(now).toHaveLength(WORKERS);
      expect(now).not.toContain(victim.pid);
      expect(now.filter((pid) => before.includes(pid))).toHaveLength(WORKERS - 1);
    }, 30_000);
    expect((await wholeTraffic()).totals.requests.public).toBe(sent);
    const survivors = sent - (servedBy.get(victim.worker) ?? 0);
    await eventually(async () => expect(await metricsPublic()).toBe(survivors));
    // And it goes on counting on the new worker (once the view served for a second has been made again).
    await sendPublic(4);
    await wholeTraffic((read) => expect(read.totals.requests.public).toBe(sent));
  });

  it('answers without a worker that does not answer (stopped), naming it, and the primary stays up', async () => {
    // Which worker this connection reached; the other one is stopped.
    const { h2Get, serving, other: stopped } = await adminOnOneWorker();
    process.kill(stopped, 'SIGSTOP');
    onCleanup(() => process.kill(stopped, 'SIGCONT'));
    const stoppedIndex = 1 - serving.worker;
    // A view made before the stop is served again for a second; then the stopped worker is named.
    const report = await eventually(async () => {
      const response = await h2Get(TRAFFIC_PATH);
      expect(response.status).toBe(200);
      const read = JSON.parse(response.body) as TrafficReport;
      expect(read.scope).toEqual({ kind: 'workers', workers: WORKERS, missing: [stoppedIndex] });
      return read;
    }, 15_000);
    // Its closed buckets are the primary's: only what it counted since its last boundary is left out.
    expect(report.totals.requests.public).toBeLessThanOrEqual(sent);
    const live = await h2Get('/_mailgate/admin/live');
    expect(live.body).toContain(`Worker ${stoppedIndex} did not answer in time`);
    expect(report.processes.map((p) => p.worker)).toEqual([null, serving.worker]);
    process.kill(stopped, 'SIGCONT');
    await wholeTraffic(
      (read) => expect(read.totals.requests.public).toBe(sent),
      async () => JSON.parse((await h2Get(TRAFFIC_PATH)).body) as TrafficReport,
    );
    expect(serve.child.exitCode).toBeNull();
  });

  it('counts a worker once when its answer and its closed bucket reach the primary in one read', async () => {
    const { h2Get, serving, other } = await adminOnOneWorker();
    const otherIndex = 1 - serving.worker;
    const primary = serve.child.pid!;
    // A fresh bucket in which the other worker serves public requests: its filling bucket holds them.
    await clockReaches(bucketStart(Date.now()) + TRAFFIC_INTERVAL_MS + 100);
    const boundary = bucketStart(Date.now()) + TRAFFIC_INTERVAL_MS;
    const servedByOther = servedBy.get(otherIndex) ?? 0;
    while ((servedBy.get(otherIndex) ?? 0) === servedByOther) await sendPublic(2);
    // The console asks while the other worker is stopped: the primary's collection waits for it (1 s).
    process.kill(other, 'SIGSTOP');
    onCleanup(() => process.kill(other, 'SIGCONT'));
    await clockReaches(boundary - 700);
    const asked = h2Get(TRAFFIC_PATH);
    // It answers with its filling bucket while the primary is stopped; at the boundary its timer sends
    // the same counts closed. The primary then reads both in one go, within its collection's second.
    await clockReaches(boundary - 500);
    process.kill(primary, 'SIGSTOP');
    onCleanup(() => process.kill(primary, 'SIGCONT'));
    process.kill(other, 'SIGCONT');
    await clockReaches(boundary + 100);
    process.kill(primary, 'SIGCONT');
    const response = await asked;
    expect(response.status).toBe(200);
    const report = JSON.parse(response.body) as TrafficReport;
    // Never more than was sent (a worker that missed the collection leaves its filling bucket out).
    expect(report.totals.requests.public).toBeLessThanOrEqual(sent);
    await wholeTraffic(
      (read) => expect(read.totals.requests.public).toBe(sent),
      async () => JSON.parse((await h2Get(TRAFFIC_PATH)).body) as TrafficReport,
    );
    expect(serve.child.exitCode).toBeNull();
  });
});
