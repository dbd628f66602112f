/**
 * CalDAV and CardDAV through the gateway with real software: Debian's Radicale as the upstream and
 * python3-caldav (Debian's /usr/bin/python3) as the client, creating, syncing, moving and deleting
 * events and contacts over https with the gateway's CA.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { freePort, untilAccepting } from '../helpers/ports.js';

const CLIENT = fileURLToPath(new URL('./caldav-client.py', import.meta.url));

let root: string;
let radicale: ChildProcess;
let radicaleExited: Promise<void>;
let gw: TestGateway;
let caFile: string;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'mailgate-radicale-'));
  const port = await freePort();
  writeFileSync(
    join(root, 'config'),
    `[server]\nhosts = 127.0.0.1:${port}\n[auth]\ntype = none\n[storage]\nfilesystem_folder = ${root}/collections\n[logging]\nlevel = warning\n`,
  );
  radicale = spawn('/usr/bin/python3', ['-m', 'radicale', '--config', join(root, 'config')], {
    stdio: 'ignore',
  });
  radicaleExited = new Promise((resolve) => radicale.once('exit', () => resolve()));
  await untilAccepting(port, radicale);
  gw = await startTestGateway({
    upstreams: { radicale: { url: `http://127.0.0.1:${port}` } },
    routes: [{ path: '/', upstream: 'radicale', auth: 'public' }],
  });
  caFile = join(root, 'ca.pem');
  writeFileSync(caFile, gw.caPem);
}, 30_000);

afterAll(async () => {
  await gw?.close();
  if (radicale && radicale.exitCode === null) radicale.kill('SIGTERM');
  await radicaleExited;
  rmSync(root, { recursive: true, force: true });
});

/** Runs the python client against `url` and returns its steps by name. */
function runClient(url: string): Promise<{ steps: Record<string, Record<string, unknown>>; output: string }> {
  return new Promise((resolve, reject) => {
    // Async: the gateway runs in this process.
    const child = spawn('/usr/bin/python3', [CLIENT, url, caFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
    });
    child.on('error', reject);
    child.on('close', () => {
      const steps: Record<string, Record<string, unknown>> = {};
      for (const line of output.split('\n')) {
        if (!line.startsWith('{')) continue;
        const parsed = JSON.parse(line) as { step: string };
        steps[parsed.step] = parsed;
      }
      resolve({ steps, output });
    });
  });
}

describe('Radicale with python3-caldav through the gateway', () => {
  it('creates, syncs, moves and deletes events and contacts', async () => {
    const { steps, output } = await runClient(`https://127.0.0.1:${gw.port}/`);
    expect(steps.calendars, output).toMatchObject({ names: ['Home', 'Work'] });
    expect(steps.created, output).toMatchObject({ summaries: ['Review', 'Standup'] });
    expect(steps.synced, output).toMatchObject({ changed: ['Standup (moved to 9:30)'] });
    // Radicale refuses a Destination whose host differs from Host: the rewrite keeps the forwarded Host.
    expect(steps.moved, output).toMatchObject({ status: 201, work: ['ev-2'], home: ['ev-1'] });
    expect(steps.deleted, output).toMatchObject({ home: 0, work: 1 });
    expect(steps.contacts, output).toMatchObject({
      mkcol: 201,
      put: 201,
      found: true,
      moved: 201,
      listed_new: true,
      listed_old: false,
      deleted: 200,
    });
    const lines = await gw.logLines('"method":"MOVE"');
    const methods = new Set(lines.map((line) => line.method));
    for (const method of ['PROPFIND', 'MKCALENDAR', 'REPORT', 'PUT', 'MOVE', 'MKCOL', 'DELETE'])
      expect(methods, method).toContain(method);
  }, 120_000);
});
