/**
 * @module Writing an onboarding bundle into one folder: new files only, and all of them or none.
 */
import { rmSync } from 'node:fs';
import { checkOutputDir, ensureOutputDir } from '../lib/output-dir.js';
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
  checkOutputDir(dir);
  assertAbsent(files.map((file) => file.path));
  const out = ensureOutputDir(dir);
  const written: string[] = [];
  const remove = () => {
    // Only files this call wrote: a path is recorded after its write succeeded, so a file that
    // appeared meanwhile under the same name (the writer refused it) is never deleted.
    for (const path of written.splice(0)) rmSync(path, { force: true });
    out.removeCreated();
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
