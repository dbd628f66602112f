/**
 * @module All-or-nothing publication of a set of files: stage every one, then publish them together.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, linkSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { writeFileAtomic } from './atomic-file.js';
import { ConflictError, FileError } from './errors.js';

export interface OutputFile {
  path: string;
  data: string | Uint8Array;
  /** 0o600 for keys and PKCS#12, 0o644 for certificates. */
  mode: number;
}

/**
 * Files written under hidden temporary names, not yet visible under their real names.
 * `publish()` moves them into place; `discard()` removes whatever this set wrote, staged or published.
 */
export class StagedFiles {
  readonly #staged: Array<{ tmp: string; path: string }>;
  readonly #overwrite: boolean;
  readonly #published: string[] = [];

  constructor(staged: Array<{ tmp: string; path: string }>, overwrite: boolean) {
    this.#staged = staged;
    this.#overwrite = overwrite;
  }

  /**
   * Moves every staged file to its real name. Without `overwrite` it links instead of renaming, so a file
   * that appeared since staging is never clobbered.
   * @throws ConflictError when a target appeared meanwhile; FileError on any other failure.
   */
  publish(): void {
    for (const { tmp, path } of this.#staged) {
      try {
        if (this.#overwrite) renameSync(tmp, path);
        else {
          linkSync(tmp, path);
          rmSync(tmp, { force: true });
        }
      } catch (cause) {
        if ((cause as NodeJS.ErrnoException).code === 'EEXIST') throw existsError(path);
        throw new FileError(`cannot write ${path}: ${(cause as Error).message}`, { cause });
      }
      this.#published.push(path);
    }
  }

  /** Removes staged and published files; safe to call more than once. */
  discard(): void {
    for (const { tmp } of this.#staged) rmSync(tmp, { force: true });
    for (const path of this.#published.splice(0)) rmSync(path, { force: true });
  }
}

/**
 * Writes every file under a temporary name in its target folder (same file system, so publishing is a
 * rename). Nothing is left behind when staging fails.
 * @throws ConflictError when a target exists and `overwrite` is false; FileError when a write fails.
 */
export function stageFiles(files: readonly OutputFile[], { overwrite }: { overwrite: boolean }): StagedFiles {
  if (!overwrite) assertAbsent(files.map((file) => file.path));
  const staged: Array<{ tmp: string; path: string }> = [];
  try {
    for (const file of files) {
      const tmp = join(dirname(file.path), `.${basename(file.path)}.stage-${randomBytes(6).toString('hex')}`);
      writeFileAtomic(tmp, file.data, { mode: file.mode });
      staged.push({ tmp, path: file.path });
    }
  } catch (error) {
    for (const { tmp } of staged) rmSync(tmp, { force: true });
    throw error;
  }
  return new StagedFiles(staged, overwrite);
}

/** @throws ConflictError naming the first path that exists. */
export function assertAbsent(paths: readonly string[]): void {
  const existing = paths.find((path) => existsSync(path));
  if (existing) throw existsError(existing);
}

function existsError(path: string): ConflictError {
  return new ConflictError(`${path} already exists (use --force to replace it)`);
}
