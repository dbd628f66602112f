import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { FileError } from '../../../lib/errors.js';
import { BACKUP_FORMAT, decodeBackup, encodeBackup } from '../../../store/backup-archive.js';

const createdAt = '2030-01-02T03:04:05.000Z';
const files = new Map([
  ['mailgate.db', Buffer.from([0, 1, 2, 255])],
  ['ca/ca.key.pem', Buffer.from('-----BEGIN PRIVATE KEY-----\n')],
]);

/** The archive document, loosely typed so that tests can break it. */
interface Doc {
  format?: string;
  version?: number;
  createdAt?: string;
  files: Record<string, Entry> & { 'mailgate.db': Entry };
}

interface Entry {
  sha256?: string;
  base64: string;
}

/** The archive's JSON document, changed by `edit`, gzipped again. */
function tampered(edit: (doc: Doc) => void): Buffer {
  const doc = JSON.parse(gunzipSync(encodeBackup({ createdAt, files })).toString('utf8'));
  edit(doc);
  return gzipSync(JSON.stringify(doc));
}

function refusal(archive: Buffer): FileError {
  try {
    decodeBackup(archive, 'x.mgbak');
  } catch (error) {
    if (error instanceof FileError) return error;
    throw error;
  }
  throw new Error('expected the archive to be refused');
}

describe('backup archive', () => {
  it('round-trips files byte for byte with their creation time', () => {
    const decoded = decodeBackup(encodeBackup({ createdAt, files }), 'x.mgbak');
    expect(decoded).toEqual({ createdAt, files });
  });

  it('records the format, version and a SHA-256 per file', () => {
    const doc = JSON.parse(gunzipSync(encodeBackup({ createdAt, files })).toString('utf8'));
    expect(doc).toMatchObject({ format: BACKUP_FORMAT, version: 1, createdAt });
    const sha256 = createHash('sha256').update(files.get('mailgate.db')!).digest('hex');
    expect(doc.files['mailgate.db']).toEqual({ sha256, base64: 'AAEC/w==' });
  });

  it.each([
    [
      'content that fails its SHA-256',
      (d: Doc) => (d.files['mailgate.db'].base64 = Buffer.from('evil').toString('base64')),
      'fails its SHA-256 check',
    ],
    ['a missing SHA-256', (d: Doc) => delete d.files['mailgate.db'].sha256, 'is malformed'],
    ['another format', (d: Doc) => (d.format = 'tarball'), `no '${BACKUP_FORMAT}' marker`],
    ['a newer version', (d: Doc) => (d.version = 2), 'format version 2 is newer'],
    ['no version', (d: Doc) => delete d.version, 'no format version'],
    ['no creation time', (d: Doc) => (d.createdAt = 'yesterday'), 'no creation time'],
    [
      'a path escaping the data dir',
      (d: Doc) => (d.files['../etc/passwd'] = d.files['mailgate.db']),
      'unsafe path',
    ],
    ['an absolute path', (d: Doc) => (d.files['/etc/passwd'] = d.files['mailgate.db']), 'unsafe path'],
    ['a nested path', (d: Doc) => (d.files['ca/x/y'] = d.files['mailgate.db']), 'unsafe path'],
    ['a hidden file', (d: Doc) => (d.files['ca/.x'] = d.files['mailgate.db']), 'unsafe path'],
  ])('refuses %s', (_what, edit, message) => {
    const error = refusal(tampered(edit));
    expect(error.code).toBe('ERR_FILE');
    expect(error.message).toContain('x.mgbak is not a usable mailgate backup');
    expect(error.message).toContain(message);
  });

  it('refuses bytes that are not gzip, or gzip that is not JSON', () => {
    expect(refusal(Buffer.from('hello')).message).toContain('damaged or not a backup');
    expect(refusal(gzipSync('not json')).message).toContain('damaged or not a backup');
  });

  it('never encodes a path outside the rules', () => {
    expect(() => encodeBackup({ createdAt, files: new Map([['../x', Buffer.alloc(0)]]) })).toThrow(TypeError);
  });
});
