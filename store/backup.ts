/**
 * @module `mailgate backup`: a consistent online snapshot of the data dir (database and key files),
 * taken while the gateway keeps serving and writing.
 */
import { type Dirent, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { writeFileAtomic } from '../lib/atomic-file.js';
import { ConflictError, FileError, StoreError } from '../lib/errors.js';
import { appendAudit } from './audit.js';
import { encodeBackup } from './backup-archive.js';
import { DATABASE_FILE, type Database } from './database.js';

/** Snapshots are retried this often when a key file changes while the database is being copied. */
const ATTEMPTS = 3;
/** Pages per backup step: all of them, so that a write by the gateway cannot keep restarting the copy. */
const ALL_PAGES = 0x7fffffff;

/** Which files of the data dir are saved beside the database: the capabilities that own them say so. */
export interface BackupFiles {
  /** Folders whose regular files are saved (missing ones are skipped). */
  folders: readonly string[];
  /** Files inside those folders that are left out, because they are rebuilt from the database. */
  derived: readonly string[];
}

export interface BackupOptions {
  /** The key files to save with the database (certs/ca-files.ts `caBackupFiles`). */
  files: BackupFiles;
  /** Replace an existing archive (atomically: the old one stays until the new one is complete). */
  force?: boolean | undefined;
  /** Who asked, for the audit trail. */
  actor: string;
  now?: number;
}

export interface BackupResult {
  file: string;
  /** ISO 8601. */
  createdAt: string;
  /** Relative paths saved, the database first. */
  files: string[];
  bytes: number;
}

/**
 * Writes an archive of the data dir to `outFile` (0600, atomically): the database through SQLite's
 * online backup API (a consistent snapshot despite WAL and concurrent writers) and the files of ca/ and
 * tls/. The key files are read before and after the database is copied and the snapshot is retried when
 * they differ (e.g. `ca init --force` ran meanwhile), so files and rows belong together. The backup is
 * audited in the source database once the archive is written.
 * @throws ConflictError when `outFile` exists and `force` is not set; FileError when it cannot be written;
 * StoreError when the copy fails its integrity check or the key files keep changing.
 * @example await createBackup(db, dataDir, '/backups/mailgate.mgbak', { actor, files: caBackupFiles(dataDir) })
 */
export async function createBackup(
  db: Database,
  dataDir: string,
  outFile: string,
  options: BackupOptions,
): Promise<BackupResult> {
  const stat = statSync(outFile, { throwIfNoEntry: false });
  if (stat?.isDirectory()) throw new FileError(`--out: ${outFile} is a directory; name the archive file`);
  if (stat && !options.force)
    throw new ConflictError(`${outFile} already exists (use --force to replace it)`);
  const work = makeWorkDir(dirname(outFile));
  try {
    const { database, keyFiles } = await snapshot(db, dataDir, options.files, join(work, DATABASE_FILE));
    const createdAt = new Date(options.now ?? Date.now()).toISOString();
    const files = new Map([[DATABASE_FILE, database], ...keyFiles]);
    const archive = encodeBackup({ createdAt, files });
    writeFileAtomic(outFile, archive, { mode: 0o600 });
    const result = { file: outFile, createdAt, files: [...files.keys()], bytes: archive.length };
    appendAudit(db, {
      actor: options.actor,
      action: 'store.backup',
      target: outFile,
      at: options.now,
      detail: { files: result.files, bytes: result.bytes },
    });
    return result;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function snapshot(db: Database, dataDir: string, files: BackupFiles, copyPath: string) {
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    const before = readKeyFiles(dataDir, files);
    rmSync(copyPath, { force: true });
    await copyDatabase(db, copyPath);
    const database = finishCopy(copyPath);
    const after = readKeyFiles(dataDir, files);
    if (sameFiles(before, after)) return { database, keyFiles: before };
  }
  throw new StoreError(`the key files in ${dataDir} kept changing during the backup: try again`);
}

async function copyDatabase(db: Database, copyPath: string): Promise<void> {
  try {
    await db.backup(copyPath, { progress: () => ALL_PAGES });
  } catch (cause) {
    throw new StoreError(`cannot copy the database: ${(cause as Error).message}`, { cause });
  }
}

/**
 * Checks the copy and turns it into a single self-contained file (rollback journal instead of WAL).
 * @throws StoreError when SQLite finds the copy damaged.
 */
function finishCopy(path: string): Buffer {
  const copy = new BetterSqlite3(path);
  try {
    const check = copy.pragma('quick_check', { simple: true });
    if (check !== 'ok') throw new StoreError(`the database copy failed its integrity check: ${check}`);
    copy.pragma('journal_mode = DELETE');
  } finally {
    copy.close();
  }
  return readFileSync(path);
}

/** The files of `keep.folders` by path relative to the data dir, without `keep.derived`. */
function readKeyFiles(dataDir: string, keep: BackupFiles): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (const folder of keep.folders) {
    for (const entry of listFolder(folder)) {
      const path = join(folder, entry.name);
      // Hidden names are temporary files of atomic writes in progress.
      if (!entry.isFile() || entry.name.startsWith('.') || keep.derived.includes(path)) continue;
      files.set(relative(dataDir, path), readKeyFile(path));
    }
  }
  return files;
}

function readKeyFile(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (cause) {
    throw new FileError(`cannot read ${path}: ${(cause as NodeJS.ErrnoException).code ?? cause}`, { cause });
  }
}

function listFolder(folder: string): Dirent[] {
  try {
    return readdirSync(folder, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new FileError(`cannot read ${folder}: ${(error as NodeJS.ErrnoException).code ?? error}`, {
      cause: error,
    });
  }
}

function sameFiles(a: Map<string, Buffer>, b: Map<string, Buffer>): boolean {
  return a.size === b.size && [...a].every(([path, data]) => b.get(path)?.equals(data) === true);
}

/** A private (0700) scratch folder next to the archive, on the same file system. */
function makeWorkDir(dir: string): string {
  try {
    return mkdtempSync(join(dir, '.mailgate-backup-'));
  } catch (cause) {
    throw new FileError(`--out: cannot write in ${dir}: ${(cause as NodeJS.ErrnoException).code ?? cause}`, {
      cause,
    });
  }
}
