/**
 * @module Opens the one SQLite file in the data dir: 0700 dir, 0600 file, WAL, migrations.
 */
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, statSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { StoreError } from '../lib/errors.js';
import { MIGRATIONS } from './migrations.js';

export type Database = BetterSqlite3.Database;

/** 'MGAT': marks the file as ours so a foreign SQLite file is refused, not migrated. */
const APPLICATION_ID = 0x4d474154;
export const DATABASE_FILE = 'mailgate.db';

/**
 * Creates the data dir (0700) when missing and returns its path.
 * @throws StoreError when it exists but is not a directory.
 */
export function ensureDataDir(dataDir: string): string {
  if (!existsSync(dataDir)) mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  else if (!statSync(dataDir).isDirectory()) throw new StoreError(`data dir ${dataDir} is not a directory`);
  chmodSync(dataDir, 0o700);
  return dataDir;
}

/**
 * Opens (and creates or migrates) `DATA_DIR/mailgate.db`.
 * @throws StoreError for a corrupt, foreign or newer database file.
 * @example const db = openDatabase('./data'); ...; db.close();
 */
export function openDatabase(dataDir: string): Database {
  ensureDataDir(dataDir);
  const file = join(dataDir, DATABASE_FILE);
  if (!existsSync(file)) closeSync(openSync(file, 'a', 0o600));
  let db: Database;
  try {
    db = new BetterSqlite3(file, { timeout: 5_000 });
  } catch (cause) {
    throw new StoreError(`cannot open ${file}: ${(cause as Error).message}`, { cause });
  }
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    migrate(db, file);
  } catch (cause) {
    db.close();
    if (cause instanceof StoreError) throw cause;
    throw new StoreError(`${file} is not a usable mailgate database: ${(cause as Error).message}`, { cause });
  }
  return db;
}

function migrate(db: Database, file: string) {
  const appId = db.pragma('application_id', { simple: true }) as number;
  const version = db.pragma('user_version', { simple: true }) as number;
  if (appId !== APPLICATION_ID) {
    const tables = db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'").get() as {
      n: number;
    };
    if (appId !== 0 || tables.n > 0) throw new StoreError(`${file} is not a mailgate database`);
  }
  if (version > MIGRATIONS.length) {
    throw new StoreError(
      `${file} has schema version ${version}, newer than this mailgate (${MIGRATIONS.length})`,
    );
  }
  if (version === MIGRATIONS.length) return;
  db.transaction(() => {
    for (let v = version; v < MIGRATIONS.length; v++) db.exec(MIGRATIONS[v]!);
    db.pragma(`application_id = ${APPLICATION_ID}`);
    db.pragma(`user_version = ${MIGRATIONS.length}`);
  }).immediate();
}

/** Whether the data dir holds a database already (reading it must not create one). */
export function hasDatabase(dataDir: string): boolean {
  return existsSync(join(dataDir, DATABASE_FILE));
}

/**
 * Opens the data dir's database on a connection of its own (as one CLI command does), runs `use` and
 * closes the connection, also when `use` throws or its promise rejects. Returns what `use` returns.
 * @param ifMissing when given, a data dir without a database is refused with the error it makes, before
 * anything is created (commands that must not create a data dir by accident).
 * @example const peers = withDatabase(dataDir, (db) => listPeers(db), () => new NotFoundError('run wg init first'))
 */
export function withDatabase<T>(dataDir: string, use: (db: Database) => T, ifMissing?: () => Error): T {
  if (ifMissing && !hasDatabase(dataDir)) throw ifMissing();
  const db = openDatabase(dataDir);
  let result: T;
  try {
    result = use(db);
  } catch (error) {
    db.close();
    throw error;
  }
  if (result instanceof Promise) return result.finally(() => db.close()) as T;
  db.close();
  return result;
}
