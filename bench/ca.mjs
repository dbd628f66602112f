#!/usr/bin/env node
/**
 * @module CA benchmark: `ca list --json` over 10,000 certificates and `ca issue client` with a PKCS#12,
 * each timed as a whole process (what a user waits for). Run after the build: `node bench/ca.mjs`.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import BetterSqlite3 from 'better-sqlite3';

const MAIN = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const ROWS = 10_000;
const RUNS = 3;
const root = mkdtempSync(join(tmpdir(), 'mailgate-bench-ca-'));
const dataDir = join(root, 'data');
const out = join(root, 'out');
mkdirSync(out);

/** Runs the CLI and returns its wall time in seconds and its stdout. */
function timed(args) {
  const start = process.hrtime.bigint();
  const stdout = execFileSync(process.execPath, [MAIN, ...args, '--data-dir', dataDir], {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
    stdio: ['ignore', 'pipe', 'ignore'], // the commands' human messages on stderr are not wanted here
  });
  return { seconds: Number(process.hrtime.bigint() - start) / 1e9, stdout };
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

try {
  timed(['ca', 'init']);
  timed(['ca', 'issue', 'client', '--name', 'template', '--out', out]);
  // Synthetic rows copy the real certificate's PEM with distinct serials: the listing cost is the same.
  const db = new BetterSqlite3(join(dataDir, 'mailgate.db'));
  const template = db.prepare("SELECT * FROM certificates WHERE name = 'template'").get();
  const insert = db.prepare(
    `INSERT INTO certificates (serial, kind, name, role, email, sans, not_before, not_after, fingerprint256, cert_pem,
       created_at, revoked_at, revocation_reason) VALUES (?, 'client', ?, ?, NULL, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  db.transaction(() => {
    for (let i = 0; i < ROWS - 2; i++) {
      const serial = `${(0x10 + (i % 0x60)).toString(16)}${randomBytes(15).toString('hex')}`;
      const revoked = i % 10 === 0 ? template.created_at : null;
      insert.run(
        serial,
        `user${i}`,
        'admin',
        template.sans,
        template.not_before,
        template.not_after,
        template.fingerprint256,
        template.cert_pem,
        template.created_at + i,
        revoked,
        revoked ? 'superseded' : null,
      );
    }
  })();
  db.close();

  const lists = [];
  let count = 0;
  for (let i = 0; i < RUNS; i++) {
    const run = timed(['ca', 'list', '--json']);
    lists.push(run.seconds);
    count = JSON.parse(run.stdout).certificates.length;
  }
  const issues = [];
  for (let i = 0; i < RUNS; i++) {
    issues.push(
      timed(['ca', 'issue', 'client', '--name', `bench${i}`, '--out', out, '--p12-password', 'x']).seconds,
    );
  }
  const fmt = (s) => `${s.toFixed(3)} s`;
  console.log(
    `ca list --json over ${count} certificates: median ${fmt(median(lists))} (runs ${lists.map(fmt).join(', ')}; target < 0.3 s)`,
  );
  console.log(
    `ca issue client with p12 (3DES): median ${fmt(median(issues))} (runs ${issues.map(fmt).join(', ')}; target < 1 s)`,
  );
  const bare = [];
  for (let i = 0; i < RUNS; i++) bare.push(timed(['ca', 'list', '--help']).seconds);
  console.log(`for reference, process start (ca list --help): median ${fmt(median(bare))}`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
