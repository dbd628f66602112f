import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type OutputFile, writeBundle, writeNewFile } from '../../../admin/onboard-files.js';
import { FileError } from '../../../lib/errors.js';
import { tempDir } from '../../helpers/temp-store.js';
import { thrownBy } from '../../helpers/thrown.js';

const root = tempDir('mailgate-bundle-');
let n = 0;

const bundle = (dir: string): OutputFile[] => [
  { path: join(dir, 'a.pem'), data: 'a', mode: 0o644 },
  { path: join(dir, 'b.key.pem'), data: 'b', mode: 0o600 },
  { path: join(dir, 'c.conf'), data: 'c', mode: 0o600 },
];

describe('writeBundle', () => {
  it('creates missing folders 0700 and writes every file with its mode', () => {
    const dir = join(root, `case-${++n}`, 'nested', 'out');
    writeBundle(dir, bundle(dir));
    expect(statSync(join(root, `case-${n}`)).mode & 0o777).toBe(0o700);
    expect(readdirSync(dir).sort()).toEqual(['a.pem', 'b.key.pem', 'c.conf']);
    expect(statSync(join(dir, 'b.key.pem')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dir, 'c.conf'), 'utf8')).toBe('c');
  });

  it('removes the files it wrote and the folders it created when a write fails', () => {
    const top = join(root, `case-${++n}`);
    const dir = join(top, 'out');
    let writes = 0;
    const error = thrownBy(() =>
      writeBundle(dir, bundle(dir), (file) => {
        if (++writes === 3) throw new FileError('injected');
        writeNewFile(file);
      }),
    );
    expect(error.message).toBe('injected');
    expect(existsSync(top)).toBe(false);
  });

  it('remove() undoes a complete bundle but leaves what was there before', () => {
    const dir = join(root, `case-${++n}`);
    mkdirSync(dir);
    writeFileSync(join(dir, 'mine.txt'), 'x');
    writeBundle(dir, bundle(dir)).remove();
    expect(readdirSync(dir)).toEqual(['mine.txt']);
  });

  it('refuses to overwrite, naming the file, before writing anything', () => {
    const dir = join(root, `case-${++n}`);
    mkdirSync(dir);
    writeFileSync(join(dir, 'c.conf'), 'old');
    const error = thrownBy(() => writeBundle(dir, bundle(dir)));
    expect(error.code).toBe('ERR_CONFLICT');
    expect(error.message).toContain('c.conf');
    expect(readdirSync(dir)).toEqual(['c.conf']);
    expect(readFileSync(join(dir, 'c.conf'), 'utf8')).toBe('old');
  });

  it('refuses a folder path that is a file or lies below one', () => {
    const file = join(root, `case-${++n}`);
    writeFileSync(file, 'x');
    expect(thrownBy(() => writeBundle(file, bundle(file))).code).toBe('ERR_FILE');
    expect(thrownBy(() => writeBundle(join(file, 'out'), bundle(join(file, 'out')))).code).toBe('ERR_FILE');
    expect(readFileSync(file, 'utf8')).toBe('x');
  });
});
