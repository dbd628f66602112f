/**
 * @module Writing an onboarding bundle into one folder: new files only, and all of them or none.
 */
import { mkdirSync, rmdirSync, rmSync, type Stats, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { FileError } from '../lib/errors.js';
import { assertAbsent, type OutputFile, stageFiles } from '../lib/staged-files.js';

export type { OutputFile } from '../lib/staged-files.js';

/**
 * Writes one new file and never replaces an existing one. A parameter of writeBundle (and of
 * onboardAdmin) so that tests can make the bundle fail half-way with a writer that throws.
 */
export type WriteFile = (file: OutputFile) => void;

/** The default WriteFile: staged under a temporary name, then linked into place (no clobbering). */
export function writeNewFile(file: OutputFile): void {
  const staged = stageFiles([file], { overwrite: false });
  try {
    staged.publish();
  } catch (error) {
    staged.discard();
    throw error;
  }
}

/** What writeBundle wrote, to be undone when a later step fails. */
export interface WrittenBundle {
  /** Removes every file written and the folders created for them. */
  remove: () => void;
}

/**
 * @throws FileError when `dir`, or a folder above it, exists but is not a directory (checked before
 * anything is done).
 */
export function assertWritableDir(dir: string): void {
  let stat: Stats | undefined;
  try {
    stat = statSync(dir, { throwIfNoEntry: false });
  } catch (cause) {
    throw new FileError(`--out: cannot use ${dir}: ${(cause as NodeJS.ErrnoException).code ?? cause}`, {
      cause,
    });
  }
  if (stat && !stat.isDirectory()) throw new FileError(`--out: ${dir} exists and is not a directory`);
}

/**
 * Writes `files` (all directly inside `dir`) in order, creating `dir` (0700) when missing. When a write
 * fails, whatever was written and created here is removed before the error is rethrown.
 * @throws ConflictError when one of the files exists; FileError when `dir` cannot be created or a write fails.
 * @example const bundle = writeBundle(out, files); try { commit(); } catch (e) { bundle.remove(); throw e; }
 */
export function writeBundle(
  dir: string,
  files: readonly OutputFile[],
  writeFile: WriteFile = writeNewFile,
): WrittenBundle {
  assertWritableDir(dir);
  assertAbsent(files.map((file) => file.path));
  const firstCreated = createDir(dir);
  const written: string[] = [];
  const remove = () => {
    // Only files this call wrote: a path is recorded after its write succeeded, so a file that
    // appeared meanwhile under the same name (the writer refused it) is never deleted.
    for (const path of written.splice(0)) rmSync(path, { force: true });
    if (firstCreated) removeEmptyDirs(dir, firstCreated);
  };
  try {
    for (const file of files) {
      writeFile(file);
      written.push(file.path);
    }
  } catch (error) {
    remove();
    throw error;
  }
  return { remove };
}

/** Creates `dir` and its missing parents (0700); returns the topmost folder created, if any. */
function createDir(dir: string): string | undefined {
  try {
    return mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (cause) {
    throw new FileError(`--out: cannot create ${dir}: ${(cause as NodeJS.ErrnoException).code ?? cause}`, {
      cause,
    });
  }
}

/** Removes `dir` and its parents up to `top`, each only while empty. */
function removeEmptyDirs(dir: string, top: string): void {
  for (let current = dir; ; current = dirname(current)) {
    try {
      rmdirSync(current);
    } catch {
      return;
    }
    if (current === top) return;
  }
}
