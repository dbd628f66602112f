/**
 * @module Writing a peer's tunnel files (`NAME.conf`, `NAME.png`): 0600, never over existing files, all or nothing.
 */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../lib/atomic-file.js';
import { ConflictError } from '../lib/errors.js';
import { ensureOutputDir } from '../lib/output-dir.js';

/** Paths of the files written. */
export interface PeerFiles {
  conf: string;
  png?: string;
}

/**
 * Writes `DIR/NAME.conf` and, when `png` is given, `DIR/NAME.png`, both 0600 since both hold the
 * peer's private key. Creates DIR (0700) when missing. Call it inside the transaction that stores the
 * peer so that a failed write rolls the peer back; on failure nothing written here is left behind.
 * @throws ConflictError when a file exists (nothing is overwritten); FileError when DIR is not a directory
 * or a write fails.
 */
export function writePeerFiles(
  dir: string,
  name: string,
  content: { config: string; png?: Buffer },
): PeerFiles {
  const files: PeerFiles = { conf: join(dir, `${name}.conf`) };
  if (content.png) files.png = join(dir, `${name}.png`);
  for (const path of Object.values(files)) {
    if (existsSync(path)) throw new ConflictError(`${path} exists: refusing to overwrite it`);
  }
  const out = ensureOutputDir(dir);
  const written: string[] = [];
  try {
    writeFileAtomic(files.conf, content.config, { mode: 0o600 });
    written.push(files.conf);
    if (files.png) writeFileAtomic(files.png, content.png!, { mode: 0o600 });
  } catch (error) {
    for (const path of written) rmSync(path, { force: true });
    out.removeCreated();
    throw error;
  }
  return files;
}

/** Removes files written by writePeerFiles (rollback when a later step fails). */
export function removePeerFiles(files: PeerFiles): void {
  for (const path of Object.values(files)) rmSync(path, { force: true });
}
