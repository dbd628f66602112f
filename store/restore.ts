/**
 * @module `mailgate restore`: a backup archive, verified, rebuilt beside the target data dir and moved into
 * place in one rename, so that a data dir is never half restored.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { writeFileAtomic } from '../lib/atomic-file.js';
import { ConflictError, FileError, StoreError } from '../lib/errors.js';
import { appendAudit } from './audit.js';
import { decodeBackup } from './backup-archive.js';
import { DATABASE_FILE, withDatabase } from './database.js';

export interface RestoreOptions {
  /** Replace the contents of a non-empty data dir (stop the gateway first). */
  force?: boolean | undefined;
  /** Who asked, for the audit trail. */
  actor: string;
  now?: number;
}

export interface RestoreResult {
  dataDir: string;
  /** When the backup was taken (ISO 8601). */
  createdAt: string;
  /** Relative paths restored. */
  files: string[];
  /** True when a non-empty data dir was replaced (force). */
  replaced: boolean;
}

/**
 * Restores `archiveFile` into `dataDir`: verifies the archive (format, version, paths, each file's
 * SHA-256), writes it into a temporary folder next to `dataDir` (folders 0700, files 0600), opens the
 * database there (schema and integrity check), audits the restore in it, and only then renames the
 * folder into place.
 * @throws FileError for an unreadable or damaged archive; ConflictError when `dataDir` is not empty and
 * `force` is not set; StoreError when the restored database is unusable. Nothing is changed on failure.
 * @example restoreBackup('/backups/mailgate.mgbak', '/var/lib/mailgate', { actor })
 */
export function restoreBackup(archiveFile: string, dataDir: string, options: RestoreOptions): RestoreResult {
  const { createdAt, files } = decodeBackup(readArchive(archiveFile), archiveFile);
  if (!files.has(DATABASE_FILE)) {
    throw new FileError(`${archiveFile} is not a usable mailgate backup: it holds no ${DATABASE_FILE}`);
  }
  const occupied = targetOccupied(dataDir);
  if (occupied && !options.force) {
    throw new ConflictError(
      `${dataDir} is not empty: restore into a new folder, or use --force to replace its contents (stop the gateway first)`,
    );
  }
  const parent = dirname(dataDir);
  const staging = makeStagingDir(parent, basename(dataDir));
  try {
    for (const [path, data] of files) {
      const target = join(staging, path);
      mkdirSync(dirname(target), { recursive: true, mode: 0o700 });
      writeFileAtomic(target, data, { mode: 0o600 });
    }
    withDatabase(staging, (db) => {
      const check = db.pragma('integrity_check', { simple: true });
      if (check !== 'ok') throw new StoreError(`the database in ${archiveFile} is damaged: ${check}`);
      appendAudit(db, {
        actor: options.actor,
        action: 'store.restore',
        target: dataDir,
        at: options.now,
        detail: { archive: archiveFile, createdAt, files: [...files.keys()] },
      });
    });
    moveIntoPlace(staging, dataDir, occupied !== undefined);
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  }
  return { dataDir, createdAt, files: [...files.keys()], replaced: occupied === true };
}

function readArchive(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (cause) {
    throw new FileError(`cannot read ${path}: ${(cause as NodeJS.ErrnoException).code ?? cause}`, { cause });
  }
}

/**
 * undefined when `dataDir` does not exist, false when it is an empty folder, true when it has contents.
 * @throws FileError when it exists and is not a folder.
 */
function targetOccupied(dataDir: string): boolean | undefined {
  const stat = statSync(dataDir, { throwIfNoEntry: false });
  if (!stat) return undefined;
  if (!stat.isDirectory()) throw new FileError(`--data-dir: ${dataDir} exists and is not a directory`);
  return readdirSync(dataDir).length > 0;
}

/** A 0700 folder beside the target, on the same file system so that placing it is one rename. */
function makeStagingDir(parent: string, name: string): string {
  try {
    mkdirSync(parent, { recursive: true, mode: 0o700 });
    return mkdtempSync(join(parent, `.${name}.restore-`));
  } catch (cause) {
    throw new FileError(`cannot write in ${parent}: ${(cause as NodeJS.ErrnoException).code ?? cause}`, {
      cause,
    });
  }
}

/**
 * Renames `staging` to `dataDir`. An existing (empty, or with force replaced) data dir is first moved
 * aside and removed only once the new one is in place; it is moved back if the second rename fails.
 */
function moveIntoPlace(staging: string, dataDir: string, exists: boolean): void {
  try {
    if (!exists) {
      renameSync(staging, dataDir);
      return;
    }
    const aside = join(dirname(dataDir), `.${basename(dataDir)}.replaced-${randomBytes(6).toString('hex')}`);
    renameSync(dataDir, aside);
    try {
      renameSync(staging, dataDir);
    } catch (error) {
      renameSync(aside, dataDir);
      throw error;
    }
    rmSync(aside, { recursive: true, force: true });
  } catch (cause) {
    throw new FileError(`cannot move the restored data into ${dataDir}: ${(cause as Error).message}`, {
      cause,
    });
  }
}
