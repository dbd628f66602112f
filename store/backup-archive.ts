/**
 * @module The backup archive format: one gzipped JSON document holding files with their SHA-256. Pure.
 */
import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { FileError } from '../lib/errors.js';

export const BACKUP_FORMAT = 'mailgate-backup';
export const BACKUP_VERSION = 1;

/**
 * Paths inside an archive, relative to the data dir: a file name, optionally inside one folder. Every
 * segment starts with a letter, digit or '_', so `..`, hidden and absolute paths cannot appear.
 */
const ARCHIVE_PATH = /^([A-Za-z0-9_][A-Za-z0-9._-]{0,127}\/)?[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;
/** Refuse to inflate more than this: a backup is a database and a few PEM files. */
const MAX_ARCHIVE_BYTES = 512 * 1024 * 1024;

/** The files of a backup by relative path, and when it was taken. */
export interface BackupContents {
  /** ISO 8601. */
  createdAt: string;
  files: Map<string, Buffer>;
}

interface ArchiveDocument {
  format: typeof BACKUP_FORMAT;
  version: number;
  createdAt: string;
  files: Record<string, { sha256: string; base64: string }>;
}

/**
 * Encodes `contents` as `{format, version, createdAt, files: {path: {sha256, base64}}}`, gzipped.
 * @throws TypeError for a path outside ARCHIVE_PATH (a programming error: callers choose the paths).
 * @example writeFileAtomic(out, encodeBackup({ createdAt, files }), { mode: 0o600 })
 */
export function encodeBackup(contents: BackupContents): Buffer {
  const files: ArchiveDocument['files'] = {};
  for (const [path, data] of contents.files) {
    if (!ARCHIVE_PATH.test(path)) throw new TypeError(`not an archive path: ${path}`);
    files[path] = { sha256: sha256(data), base64: data.toString('base64') };
  }
  const document: ArchiveDocument = {
    format: BACKUP_FORMAT,
    version: BACKUP_VERSION,
    createdAt: contents.createdAt,
    files,
  };
  return gzipSync(JSON.stringify(document));
}

/**
 * Decodes and verifies an archive: gzip, JSON, format and version, safe paths, and each file's SHA-256.
 * @param label names the archive in error messages (its path).
 * @throws FileError naming what is wrong; nothing of a failing archive is returned.
 */
export function decodeBackup(archive: Buffer, label: string): BackupContents {
  const damaged = (why: string) => new FileError(`${label} is not a usable mailgate backup: ${why}`);
  let document: unknown;
  try {
    document = JSON.parse(gunzipSync(archive, { maxOutputLength: MAX_ARCHIVE_BYTES }).toString('utf8'));
  } catch (cause) {
    throw damaged(`it is damaged or not a backup (${(cause as Error).message})`);
  }
  if (!isRecord(document) || document.format !== BACKUP_FORMAT) throw damaged(`no '${BACKUP_FORMAT}' marker`);
  if (typeof document.version !== 'number' || !Number.isInteger(document.version) || document.version < 1) {
    throw damaged('no format version');
  }
  if (document.version > BACKUP_VERSION) {
    throw damaged(`format version ${document.version} is newer than this mailgate reads (${BACKUP_VERSION})`);
  }
  if (typeof document.createdAt !== 'string' || Number.isNaN(Date.parse(document.createdAt))) {
    throw damaged('no creation time');
  }
  if (!isRecord(document.files)) throw damaged('no file list');
  const files = new Map<string, Buffer>();
  for (const [path, entry] of Object.entries(document.files)) {
    if (!ARCHIVE_PATH.test(path)) throw damaged(`unsafe path ${JSON.stringify(path)}`);
    if (!isRecord(entry) || typeof entry.base64 !== 'string' || typeof entry.sha256 !== 'string') {
      throw damaged(`entry ${path} is malformed`);
    }
    if (!SHA256_HEX.test(entry.sha256)) throw damaged(`entry ${path} has no SHA-256`);
    const data = Buffer.from(entry.base64, 'base64');
    if (sha256(data) !== entry.sha256) throw damaged(`${path} fails its SHA-256 check`);
    files.set(path, data);
  }
  return { createdAt: document.createdAt, files };
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
