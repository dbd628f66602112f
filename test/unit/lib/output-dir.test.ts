import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkOutputDir, ensureOutputDir } from '../../../lib/output-dir.js';
import { tempDir } from '../../helpers/temp-store.js';

describe('ensureOutputDir', () => {
  it('creates a missing folder and its missing parents, 0700, and removes only those again', () => {
    const root = tempDir();
    const dir = join(root, 'a', 'b');
    const out = ensureOutputDir(dir);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(root, 'a')).mode & 0o777).toBe(0o700);
    out.removeCreated();
    expect(existsSync(join(root, 'a'))).toBe(false);
    expect(existsSync(root)).toBe(true);
  });

  it('keeps an existing folder, and a created one that is no longer empty', () => {
    const root = tempDir();
    ensureOutputDir(root).removeCreated();
    expect(existsSync(root)).toBe(true);
    const dir = join(root, 'new');
    const out = ensureOutputDir(dir);
    writeFileSync(join(dir, 'someone-elses.txt'), '');
    out.removeCreated();
    expect(existsSync(join(dir, 'someone-elses.txt'))).toBe(true);
  });

  it('refuses a file, or a path below one, naming --out', () => {
    const root = tempDir();
    const file = join(root, 'file');
    writeFileSync(file, '');
    expect(() => ensureOutputDir(file)).toThrow(
      expect.objectContaining({ code: 'ERR_FILE', message: `--out: ${file} exists and is not a directory` }),
    );
    expect(() => checkOutputDir(join(file, 'below'))).toThrow(
      expect.objectContaining({
        code: 'ERR_FILE',
        message: `--out: ${join(file, 'below')} is below a file, not a directory`,
      }),
    );
  });
});
