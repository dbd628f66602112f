/**
 * CalDAV and CardDAV through the gateway with real software: Debian's Radicale as the upstream and
 * python3-caldav (Debian's /usr/bin/python3) as the client, creating, syncing, moving and deleting
 * events and contacts over https with the gateway's CA.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawRequest, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { spawnOnFreePort } from '../helpers/ports.js';
import { runProcess } from '../helpers/run-process.js';
import { tempDir } from '../helpers/temp-store.js';

const CLIENT = fileURLToPath(new URL('./caldav-client.py', import.meta.url));

let root: string;
let radicale: ChildProcess;
let radicaleExited: Promise<void>;
let gw: TestGateway;
let caFile: string;
let collections: string;

beforeAll(async () => {
  root = tempDir('mailgate-radicale-');
  collections = join(root, 'collections');
  let port: number;
  ({ child: radicale, port } = await spawnOnFreePort((free) => {
    writeFileSync(
      join(root, 'config'),
      `[server]\nhosts = 127.0.0.1:${free}\n[auth]\ntype = none\n[storage]\nfilesystem_folder = ${collections}\n[logging]\nlevel = warning\n`,
    );
    return spawn('/usr/bin/python3', ['-m', 'radicale', '--config', join(root, 'config')], {
      stdio: 'ignore',
    });
  }));
  radicaleExited = new Promise((resolve) => radicale.once('exit', () => resolve()));
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
});

/** Runs the python client against `url` and returns its steps by name. */
async function runClient(
  url: string,
): Promise<{ steps: Record<string, Record<string, unknown>>; output: string }> {
  const { output } = await runProcess('/usr/bin/python3', [CLIENT, url, caFile]);
  const steps: Record<string, Record<string, unknown>> = {};
  for (const line of output.split('\n')) {
    if (!line.startsWith('{')) continue;
    const parsed = JSON.parse(line) as { step: string };
    steps[parsed.step] = parsed;
  }
  return { steps, output };
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

describe('Radicale with vdirsyncer through the gateway', () => {
  it('syncs contacts both ways: a new local card is uploaded, a server edit comes down, a local delete goes up', async () => {
    const local = join(root, 'vdir');
    mkdirSync(join(local, 'friends'), { recursive: true });
    const card = (uid: string, name: string) =>
      `BEGIN:VCARD\r\nVERSION:3.0\r\nUID:${uid}\r\nFN:${name}\r\nEND:VCARD\r\n`;
    writeFileSync(join(local, 'friends', 'grace.vcf'), card('grace', 'Grace Hopper'));
    // vdirsyncer refuses to sync a collection emptied on one side: Ada stays when Grace goes.
    writeFileSync(join(local, 'friends', 'ada.vcf'), card('ada', 'Ada Lovelace'));
    const config = join(root, 'vdirsyncer.conf');
    writeFileSync(
      config,
      `[general]
status_path = "${root}/vdirsyncer-status/"

[pair contacts]
a = "contacts_local"
b = "contacts_remote"
collections = ["from a"]

[storage contacts_local]
type = "filesystem"
path = "${local}/"
fileext = ".vcf"

[storage contacts_remote]
type = "carddav"
url = "https://127.0.0.1:${gw.port}/"
username = "bob"
password = "secret"
verify = "${caFile}"
`,
    );
    const env = { ...process.env, HOME: root };
    const vdirsyncer = (...args: string[]) =>
      runProcess('vdirsyncer', ['-c', config, ...args], { input: 'y\ny\n', env });
    const remote = join(collections, 'collection-root', 'bob', 'friends');

    const discovered = await vdirsyncer('discover', 'contacts');
    expect(discovered.code, discovered.output).toBe(0);
    const first = await vdirsyncer('sync');
    expect(first.code, first.output).toBe(0);
    const remoteCards = () =>
      readdirSync(remote)
        .filter((name) => name.endsWith('.vcf'))
        .map((name) => ({ name, text: readFileSync(join(remote, name), 'utf8') }));
    expect(remoteCards(), first.output).toHaveLength(2);
    const grace = remoteCards().find((c) => c.text.includes('FN:Grace Hopper'))!;
    expect(grace, first.output).toBeDefined();

    // An edit on the server (another client, through the gateway) comes down on the next sync.
    const edited = card('grace', 'Grace Brewster Hopper');
    const put = await rawRequest(
      gw.port,
      `PUT /bob/friends/${grace.name} HTTP/1.1\r\nHost: 127.0.0.1:${gw.port}\r\nAuthorization: Basic ${Buffer.from('bob:secret').toString('base64')}\r\nContent-Type: text/vcard\r\nContent-Length: ${Buffer.byteLength(edited)}\r\nConnection: close\r\n\r\n${edited}`,
    );
    expect(put.status).toBeLessThan(300);
    const second = await vdirsyncer('sync');
    expect(second.code, second.output).toBe(0);
    expect(readFileSync(join(local, 'friends', 'grace.vcf'), 'utf8')).toContain('FN:Grace Brewster Hopper');

    rmSync(join(local, 'friends', 'grace.vcf'));
    const third = await vdirsyncer('sync');
    expect(third.code, third.output).toBe(0);
    expect(remoteCards().map((c) => c.text.includes('FN:Ada Lovelace'))).toEqual([true]);
  }, 120_000);
});
