/**
 * @module Test fixtures for the CA: a temp data dir with an initialised CA, and a runner for real tools.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { caPaths } from '../../certs/ca-files.js';
import { initCa } from '../../certs/ca-init.js';
import { loadCa } from '../../certs/load-ca.js';
import { type AuditEntry, readAudit } from '../../store/audit.js';
import { type Database, openDatabase } from '../../store/database.js';
import { closedOnCleanup } from './cleanup.js';
import { tempDir } from './temp-store.js';

export interface TestCa {
  /** Temp root (holds dataDir and room for output files). */
  root: string;
  dataDir: string;
  db: Database;
  ca: ReturnType<typeof loadCa>;
  paths: ReturnType<typeof caPaths>;
  /** Closes the database; registered with onCleanup too (the temp root goes with tempDir's cleanup, after it). */
  cleanup: () => void;
}

/** A fresh data dir with a CA (RSA-3072, ~0.5 s): create once per test file. */
export async function createTestCa(prefix = 'mailgate-ca-'): Promise<TestCa> {
  const root = tempDir(prefix);
  const dataDir = join(root, 'data');
  const db = openDatabase(dataDir);
  await initCa(db, dataDir, { commonName: 'test CA', days: 30, force: false, actor: 'test', crlDays: 7 });
  return {
    root,
    dataDir,
    db,
    ca: loadCa(dataDir),
    paths: caPaths(dataDir),
    cleanup: closedOnCleanup(() => db.close()),
  };
}

/** The audit record of `action` on `target` (its detail parsed), or undefined. */
export function auditOf(db: Database, action: string, target: string): AuditEntry | undefined {
  return readAudit(db, 0).find((entry) => entry.action === action && entry.target === target);
}

/** Runs a system tool synchronously and returns its exit status and output (never throws on failure). */
export function tool(command: string, args: readonly string[], input?: string) {
  const result = spawnSync(command, args, { encoding: 'utf8', input, timeout: 20_000 });
  return {
    code: result.status,
    stdout: result.stdout,
    stderr: result.stderr,
    out: result.stdout + result.stderr,
  };
}
