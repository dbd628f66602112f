import { execFile, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { connect as h2connect } from 'node:http2';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_MAIN, issueCliCertificate, runCli } from '../helpers/cli.js';
import { type EchoUpstream, startEchoUpstream } from '../helpers/echo-upstream.js';
import { eventually } from '../helpers/eventually.js';
import { type RawResponse, rawGet } from '../helpers/gateway.js';
import { admittedOf, storedUsageToday } from '../helpers/send-plane.js';
import { listenerAddresses, type ServeProcess, startServe } from '../helpers/serve-process.js';
import { tempDir } from '../helpers/temp-store.js';

// A real 3-worker gateway (node:cluster) with real TLS: what the workers share must hold across them.
const WORKERS = 3;

let root: string;
let configPath: string;
let echo: EchoUpstream;
let serve: ServeProcess;
let adminPort: number;
let metricsPort: number;

function configYaml(extraRoutes = '') {
  return `publicUrl: https://localhost
dataDir: ./data
listen:
  https: { host: 127.0.0.1, port: 0 }
  admin: { host: 127.0.0.1, port: 0 }
  metrics: { host: 127.0.0.1, port: 0 }
admin: { sourceCidrs: [127.0.0.0/8] }
drainTimeoutMs: 5000
upstreams:
  app: { url: '${echo.url}' }
routes:
  - { path: /api/emails, upstream: app, auth: token, scopes: [send] }
  - { path: /api/probe, upstream: app, auth: token, scopes: [probe-never-granted] }
  - { path: /console, upstream: app, auth: admin }
  - { path: /counted, upstream: app, auth: public }
${extraRoutes}  - { path: /, upstream: app, auth: public }
`;
}

const cli = (...args: string[]) => runCli([...args, '--config', configPath], { cwd: root });

beforeAll(async () => {
  root = tempDir('mailgate-workers-');
  configPath = join(root, 'mailgate.yaml');
  echo = await startEchoUpstream();
  writeFileSync(configPath, configYaml());
  serve = await startServe(['--config', configPath, '--workers', String(WORKERS)], { cwd: root });
  const listening = await listenerAddresses(serve);
  adminPort = listening.admin!.port;
  metricsPort = listening.metrics!.port;
}, 60_000);

afterAll(async () => {
  if (serve && serve.child.exitCode === null) await serve.stop();
  await echo?.close();
});

type TlsResponse = RawResponse;

/** One GET on a fresh TLS connection (HTTP/1.1, Connection: close): a new connection for each request. */
const get = (
  port: number,
  path: string,
  headers: Record<string, string> = {},
  tls: { session?: Buffer; cert?: string; key?: string } = {},
) => rawGet(port, path, headers, tls);

/** The request id the gateway gave a response: echoed by the upstream, or in the JSON error. */
function requestIdOf({ body }: TlsResponse): string {
  const doc = JSON.parse(body) as { headers?: Record<string, string>; error?: { requestId: string } };
  const id = doc.headers?.['x-request-id'] ?? doc.error?.requestId;
  if (!id) throw new Error(`no request id in ${body}`);
  return id;
}

/** The pid of the worker that served a request, read from its access line (every line names the worker). */
function workerPidOf(response: TlsResponse): Promise<number> {
  const reqId = requestIdOf(response);
  return eventually(async () => {
    const line = serve
      .stdout()
      .split('\n')
      .find((l) => l.includes(`"reqId":"${reqId}"`));
    const pid = line && /"pid":(\d+)/.exec(line)?.[1];
    if (!pid) throw new Error(`no access line for ${reqId}`);
    return Number(pid);
  });
}

/**
 * Worker processes of this build whose primary is gone. Workers of a running primary are not counted: this
 * file's own `serve --workers 3`, or another test file's, which may run at the same time.
 */
function orphanedWorkers(): number[] {
  const workerMain = join(CLI_MAIN, '../../gateway/worker-main.js');
  const processes = spawnSync('ps', ['-eo', 'pid=,ppid=,args='], { encoding: 'utf8' })
    .stdout.split('\n')
    .map((line) => /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(line))
    .filter((match) => match !== null)
    .map(([, pid, ppid, args]) => ({ pid: Number(pid), ppid: Number(ppid), args: args! }));
  const primaries = new Set(processes.filter((p) => p.args.includes(CLI_MAIN)).map((p) => p.pid));
  return processes.filter((p) => p.args.includes(workerMain) && !primaries.has(p.ppid)).map((p) => p.pid);
}

/** The worker processes of the primary, now. */
function workerPids(): number[] {
  const out = spawnSync('pgrep', ['-P', String(serve.child.pid)], { encoding: 'utf8' }).stdout;
  return out.split('\n').filter(Boolean).map(Number).sort();
}

async function scrape(): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
  expect(response.status).toBe(200);
  return response.text();
}

/** Requests on fresh connections until `count` distinct workers answered; returns the responses. */
async function acrossWorkers(
  request: () => Promise<TlsResponse>,
  count = WORKERS,
  attempts = 30,
): Promise<TlsResponse[]> {
  const responses: TlsResponse[] = [];
  const pids = new Set<number>();
  for (let i = 0; i < attempts && pids.size < count; i++) {
    const response = await request();
    responses.push(response);
    pids.add(await workerPidOf(response));
  }
  expect(pids.size).toBe(count);
  return responses;
}

/**
 * Issues a token and waits until every worker has loaded it: a 403 on a route whose scope no token holds
 * spends none of its limits.
 */
async function issueToken(...flags: string[]): Promise<{ id: string; token: string }> {
  const run = await cli('token', 'issue', '--app', 'shop', '--scope', 'send', ...flags, '--json');
  expect(run.code, run.stderr).toBe(0);
  const issued = JSON.parse(run.stdout) as { id: string; token: string };
  const probe = () => get(serve.port, '/api/probe', { authorization: `Bearer ${issued.token}` });
  await eventually(async () => {
    for (const response of await acrossWorkers(probe)) expect(response.status).toBe(403);
  });
  return issued;
}

// One process for the whole describe, in this order even under --sequence.shuffle: a worker is killed and
// restarted on the way, and the last test drains and stops it.
describe('serve --workers 3', { shuffle: false }, () => {
  it('runs a primary and three workers that share every listener', async () => {
    expect(workerPids()).toHaveLength(WORKERS);
    expect(serve.stderr()).toContain(`workers: ${WORKERS}`);
    const responses = await acrossWorkers(() => get(serve.port, '/hello'));
    for (const response of responses) expect(response.status).toBe(200);
  });

  it('admits a token at most its burst across workers under concurrent load from many connections', async () => {
    // 1/min refills one request a minute: within this test only the burst (plus at most one) may pass.
    const burst = 10;
    const { token } = await issueToken('--rate', '1/min', '--burst', String(burst));
    const before = echo.received.length;
    const attempts = 60;
    const responses = await Promise.all(
      Array.from({ length: attempts }, () =>
        get(serve.port, '/api/emails', { authorization: `Bearer ${token}` }),
      ),
    );
    const statuses = responses.map((r) => r.status);
    const admitted = admittedOf(responses);
    expect(admitted).toBeGreaterThanOrEqual(burst);
    expect(admitted).toBeLessThanOrEqual(burst + 1);
    expect(statuses.filter((s) => s === 429).length).toBe(attempts - admitted);
    expect(echo.received.length - before).toBe(admitted);
    // The load really was spread: refusals came from more than one worker.
    const pids = new Set(await Promise.all(responses.map(workerPidOf)));
    expect(pids.size).toBeGreaterThan(1);
  });

  it('keeps a daily quota exact across workers (and writes the count once)', async () => {
    const quota = 7;
    const { id, token } = await issueToken('--rate', '1000/s', '--burst', '1000', '--quota', `${quota}/day`);
    const responses = await Promise.all(
      Array.from({ length: 30 }, () => get(serve.port, '/api/emails', { authorization: `Bearer ${token}` })),
    );
    expect(responses.filter((r) => r.status === 200)).toHaveLength(quota);
    // The primary alone writes the counts (one writer): the store holds the quota, not N partial counts.
    await eventually(async () => expect(storedUsageToday(join(root, 'data'), id)).toBe(quota), 5_000);
  });

  it('refuses a revoked token on every worker within one second', async () => {
    const { id, token } = await issueToken('--rate', '1000/s', '--burst', '1000');
    const send = () => get(serve.port, '/api/emails', { authorization: `Bearer ${token}` });
    // Every worker has verified (and cached) the token before it is revoked.
    for (const response of await acrossWorkers(send)) expect(response.status).toBe(200);
    const revoke = await cli('token', 'revoke', id);
    expect(revoke.code, revoke.stderr).toBe(0);
    const revokedAt = Date.now();
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, revokedAt + 1_000 - Date.now())));
    const before = echo.received.length;
    for (const response of await acrossWorkers(send)) expect(response.status).toBe(401);
    expect(echo.received.length).toBe(before);
  });

  it('resumes a TLS session on another worker (shared ticket keys)', async () => {
    const first = await get(serve.port, '/first');
    expect(first.session).toBeDefined();
    const firstPid = await workerPidOf(first);
    const resumedOn = new Set<number>();
    for (let i = 0; i < 12 && resumedOn.size < 2; i++) {
      const again = await get(serve.port, '/again', {}, { session: first.session! });
      expect(again.status).toBe(200);
      expect(again.reused).toBe(true);
      const pid = await workerPidOf(again);
      if (pid !== firstPid) resumedOn.add(pid);
    }
    expect(resumedOn.size).toBeGreaterThanOrEqual(1);
    // openssl agrees: a session saved from one connection resumes on the next ones.
    const sess = join(root, 'session.pem');
    // Asynchronous: the echo upstream runs in this process and must answer while s_client waits.
    const sClient = (extra: string[]) =>
      new Promise<string>((resolve, reject) => {
        const child = execFile(
          'openssl',
          [
            's_client',
            '-connect',
            `127.0.0.1:${serve.port}`,
            '-servername',
            'localhost',
            '-tls1_3',
            '-ign_eof',
            ...extra,
          ],
          { encoding: 'utf8', timeout: 10_000 },
          (error, stdout) => (error ? reject(error) : resolve(stdout)),
        );
        child.stdin!.end('GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
      });
    // -ign_eof: s_client waits for the answer (and the tickets after it) instead of leaving at stdin's end.
    expect(await sClient(['-sess_out', sess])).toContain('HTTP/1.1 200');
    const outputs: string[] = [];
    for (let i = 0; i < 4; i++) outputs.push(await sClient(['-sess_in', sess]));
    const reused = outputs.map((text) => /^Reused, TLSv1\.3/m.test(text) && text.includes('HTTP/1.1 200'));
    expect(reused).toEqual([true, true, true, true]);
  });

  it('revokes a client certificate on every worker: no new handshake, no resumed session', async () => {
    const { cert, key } = await issueCliCertificate(cli, 'laptop');
    const admin = (session?: Buffer) => get(adminPort, '/console', {}, { cert, key, session });
    // Every worker learns the new serial from the store (its role is checked against it) within 200 ms.
    const ok = await eventually(async () => {
      const responses = await acrossWorkers(() => admin());
      for (const response of responses) expect(response.status).toBe(200);
      return responses;
    });
    const ticket = ok.at(-1)!.session!;
    expect(ticket).toBeDefined();
    // Before the revocation the ticket resumes (on whichever worker the connection lands).
    const before = await admin(ticket);
    expect([before.status, before.reused]).toEqual([200, true]);
    const revoke = await cli('ca', 'revoke', 'laptop', '--reason', 'keyCompromise');
    expect(revoke.code, revoke.stderr).toBe(0);
    const revokedAt = Date.now();
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, revokedAt + 1_000 - Date.now())));
    for (let i = 0; i < 3 * WORKERS; i++) {
      // A fresh handshake fails (CRL) and the old ticket resumes nothing: the keys rotated on every worker.
      const fresh = await admin().catch(() => undefined);
      expect(fresh?.status ?? 0).not.toBe(200);
      const resumed = await admin(ticket).catch(() => undefined);
      expect(resumed?.reused ?? false).toBe(false);
      expect(resumed?.status ?? 0).not.toBe(200);
    }
  });

  it('merges every worker into one scrape', async () => {
    const before = counted(await scrape());
    const responses = await acrossWorkers(() => get(serve.port, '/counted'));
    const text = await eventually(async () => {
      const body = await scrape();
      expect(counted(body)).toBe(before + responses.length);
      return body;
    });
    expect(text).toMatch(/^mailgate_workers 3$/m);
  });

  it('reloads every worker on SIGHUP', async () => {
    const before = echo.received.length;
    expect((await get(serve.port, '/fresh/x')).body).toContain('"url":"/fresh/x"');
    writeFileSync(configPath, configYaml('  - { path: /fresh, upstream: app, auth: admin }\n'));
    serve.child.kill('SIGHUP');
    // /fresh moved to the admin plane: every worker refuses it once reloaded.
    await eventually(async () => {
      const responses = await acrossWorkers(() => get(serve.port, '/fresh/x'));
      for (const response of responses) expect(response.status).toBe(403);
    }, 10_000);
    expect(echo.received.filter((r) => r.url === '/fresh/x').length).toBeGreaterThanOrEqual(1);
    expect(echo.received.length).toBeGreaterThan(before);
  });

  it('a stopped primary never holds a request: token requests get 503 cluster_unavailable after the IPC timeout, the public plane serves, and tokens pass again once it continues', async () => {
    const { token } = await issueToken('--rate', '1000/s', '--burst', '1000');
    // New connections are handed out by the primary (node:cluster round robin): an open h2 connection,
    // already on a worker, is what keeps being served while the primary is stopped.
    const session = h2connect(`https://127.0.0.1:${serve.port}`, {
      servername: 'localhost',
      rejectUnauthorized: false,
    });
    const onSession = (path: string, headers: Record<string, string> = {}) =>
      new Promise<{ status: number; retryAfter: unknown; body: string }>((resolve, reject) => {
        const stream = session.request({ ':path': path, ':authority': 'localhost', ...headers });
        let body = '';
        let status = 0;
        let retryAfter: unknown;
        stream.setEncoding('utf8');
        stream.on('response', (h) => {
          status = Number(h[':status']);
          retryAfter = h['retry-after'];
        });
        stream.on('data', (chunk: string) => {
          body += chunk;
        });
        stream.on('end', () => resolve({ status, retryAfter, body }));
        stream.on('error', reject);
      });
    const bearer = { authorization: `Bearer ${token}` };
    try {
      expect((await onSession('/api/emails', bearer)).status).toBe(200);
      const before = echo.received.length;
      process.kill(serve.child.pid!, 'SIGSTOP');
      try {
        const refused = await Promise.all(Array.from({ length: 5 }, () => onSession('/api/emails', bearer)));
        expect(refused.map((r) => r.status)).toEqual(Array(5).fill(503));
        expect(JSON.parse(refused[0]!.body).error.code).toBe('cluster_unavailable');
        expect(refused[0]!.retryAfter).toBe('1');
        expect((await onSession('/while-stopped')).status).toBe(200);
        expect(echo.received.slice(before).map((r) => r.url)).toEqual(['/while-stopped']);
      } finally {
        process.kill(serve.child.pid!, 'SIGCONT');
      }
      await eventually(async () => expect((await onSession('/api/emails', bearer)).status).toBe(200), 10_000);
    } finally {
      session.close();
    }
    await eventually(async () => expect(serve.stdout()).toContain('"msg":"the primary answers again"'));
    expect(serve.stdout()).toContain('the primary did not answer in time');
    expect(await scrape()).toMatch(/^mailgate_primary_unanswered_total\{question="limit"\} [1-9]\d*$/m);
  });

  it('restarts a killed worker (logged and counted) and keeps serving meanwhile', async () => {
    const [victim, ...survivors] = workerPids();
    process.kill(victim!, 'SIGKILL');
    // A connection handed to the worker in the instant it died is lost, as with any crash; from the moment
    // the primary noticed, the other workers take every connection while the replacement starts.
    await eventually(async () => expect(serve.stdout()).toContain('"msg":"worker died; restarting"'));
    const during = await Promise.all(Array.from({ length: 10 }, () => get(serve.port, '/during')));
    expect(during.map((r) => r.status)).toEqual(Array(10).fill(200));
    const after = await eventually(async () => {
      const pids = workerPids();
      expect(pids).toHaveLength(WORKERS);
      return pids;
    }, 15_000);
    expect(after).not.toContain(victim);
    for (const pid of survivors) expect(after).toContain(pid);
    expect(await scrape()).toMatch(/^mailgate_worker_restarts_total\{reason="signal"\} 1$/m);
    // The new worker serves too.
    await acrossWorkers(() => get(serve.port, '/after'));
  });

  it('drains every worker on SIGTERM: in-flight requests finish, then the primary exits 0', async () => {
    const pids = workerPids();
    const inFlight = get(serve.port, '/slow-response');
    await eventually(async () => expect(echo.received.some((r) => r.url === '/slow-response')).toBe(true));
    serve.child.kill('SIGTERM');
    setTimeout(() => echo.releaseSlowResponse(), 500);
    const response = await inFlight;
    expect(response.status).toBe(200);
    expect(response.body).toContain('last-chunk');
    expect(await serve.exited).toBe(0);
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
  });
});

function counted(exposition: string): number {
  let total = 0;
  for (const match of exposition.matchAll(/^mailgate_http_requests_total\{route="\/counted"[^}]*\} (\d+)$/gm))
    total += Number(match[1]);
  return total;
}

describe('bad worker settings and a worker that cannot start', () => {
  it.each([
    [['--workers', '0'], 2, "--workers must be auto or a whole number from 1 to 64, got '0'"],
    [['--workers', 'lots'], 2, "--workers must be auto or a whole number from 1 to 64, got 'lots'"],
  ])('serve %j exits %d naming the flag', async (args, code, message) => {
    const run = await runCli(['serve', ...args], { cwd: root, env: { MAILGATE_HTTPS_PORT: '0' } });
    expect(run.code).toBe(code);
    expect(run.stderr).toBe(`mailgate: ${message}\n`);
  });

  it('workers: 65 in the config is refused naming the key', async () => {
    const file = join(root, 'too-many.yaml');
    writeFileSync(file, `${configYaml()}workers: 65\n`);
    const run = await runCli(['serve', '--config', file], { cwd: root });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('workers: must be auto or a whole number from 1 to 64');
  });

  it('a port in use fails the start with the listener named, and leaves no worker behind', async () => {
    const blocker: Server = await new Promise((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => resolve(server));
    });
    try {
      const port = (blocker.address() as { port: number }).port;
      const run = await runCli(['serve', '--workers', '2', '--data-dir', join(root, 'busy')], {
        cwd: root,
        env: { MAILGATE_HTTPS_PORT: String(port) },
      });
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(`listen.https: 127.0.0.1:${port} is already in use`);
      expect(orphanedWorkers()).toEqual([]);
    } finally {
      blocker.close();
    }
  });

  it('with workers: 1 (the default) there is no primary: the gateway is the process itself', async () => {
    const single = await startServe(['--data-dir', join(root, 'single')], { cwd: root });
    try {
      const children = spawnSync('pgrep', ['-P', String(single.child.pid)], { encoding: 'utf8' }).stdout;
      expect(children.trim()).toBe('');
      expect((await get(single.port, '/_mailgate/healthz')).status).toBe(200);
    } finally {
      await single.stop();
    }
  });
});
