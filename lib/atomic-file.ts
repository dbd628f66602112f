/**
 * @module Crash-safe file writes: temp file in the same directory, fsync, rename.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { FileError } from './errors.js';

export interface AtomicWriteOptions {
  /** File mode of the result; keys use 0o600. */
  mode?: number;
}

/**
 * Writes `data` to `path` so that readers see either the old file or the whole new one,
 * never a truncated one (a killed process leaves at most a `.tmp-*` sibling, removed here on error).
 * @throws FileError when the directory is not writable.
 */
export function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  { mode = 0o644 }: AtomicWriteOptions = {},
) {
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${randomBytes(6).toString('hex')}`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx', mode);
    writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (cause) {
    if (fd !== undefined) closeSync(fd);
    rmSync(tmp, { force: true });
    throw new FileError(`cannot write ${path}: ${(cause as Error).message}`, { cause });
  }
}
