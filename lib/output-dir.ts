/**
 * @module The folder a command writes its files into (`--out DIR`): checked before any work is done,
 * created when missing (0700 with its missing parents: the files are keys and tunnel configs), and
 * removed again, while empty, when the command fails. One way for every command that takes --out DIR.
 */
import { mkdirSync, rmdirSync, type Stats, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { FileError } from './errors.js';

const reason = (cause: unknown) => (cause as NodeJS.ErrnoException).code ?? String(cause);

/**
 * Refuses an output folder that cannot be one; a missing folder is fine (ensureOutputDir creates it).
 * @throws FileError naming --out when `dir`, or a folder above it, exists but is not a directory.
 */
export function checkOutputDir(dir: string): void {
  let stat: Stats | undefined;
  try {
    stat = statSync(dir, { throwIfNoEntry: false });
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOTDIR')
      throw new FileError(`--out: ${dir} is below a file, not a directory`, { cause });
    throw new FileError(`--out: cannot use ${dir}: ${reason(cause)}`, { cause });
  }
  if (stat && !stat.isDirectory()) throw new FileError(`--out: ${dir} exists and is not a directory`);
}

export interface OutputDir {
  /** Removes the folders this call created, innermost first, each only while empty. */
  removeCreated: () => void;
}

/**
 * Makes sure `dir` exists, creating it and its missing parents with mode 0700.
 * @throws FileError naming --out when `dir` is not a directory or cannot be created.
 * @example const out = ensureOutputDir('/root/alice'); try { write() } catch (e) { out.removeCreated(); throw e }
 */
export function ensureOutputDir(dir: string): OutputDir {
  checkOutputDir(dir);
  let top: string | undefined;
  try {
    top = mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (cause) {
    throw new FileError(`--out: cannot create ${dir}: ${reason(cause)}`, { cause });
  }
  return {
    removeCreated: () => {
      if (top === undefined) return;
      for (let current = dir; ; current = dirname(current)) {
        try {
          rmdirSync(current);
        } catch {
          return;
        }
        if (current === top) return;
      }
    },
  };
}
