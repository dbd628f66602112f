/**
 * @module Temp folders and databases for tests: created fresh, removed by their own registered cleanup;
 * withDatabase for a store the test did not open.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Database, openDatabase } from '../../store/database.js';

/** The store's own helper, for tests reading or writing a gateway's store from outside. */
export { withDatabase } from '../../store/database.js';

import { onCleanup } from './cleanup.js';

/**
 * A new empty folder under the OS temp dir, removed after the test (or the file, see onCleanup).
 * @example const dir = tempDir('mailgate-stage-')
 */
export function tempDir(prefix = 'mailgate-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface TempDatabase {
  /** The data dir holding the database (a fresh temp folder). */
  dataDir: string;
  db: Database;
}

/**
 * A migrated database in a fresh data dir; closed and removed after the test (or the file).
 * @example beforeEach(() => ({ dataDir, db } = tempDatabase()))
 */
export function tempDatabase(prefix = 'mailgate-db-'): TempDatabase {
  const dataDir = tempDir(prefix);
  const db = openDatabase(dataDir);
  onCleanup(() => db.close());
  return { dataDir, db };
}
