import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { stageFiles } from '../../../lib/staged-files.js';
import { tempDir } from '../../helpers/temp-store.js';

let dir: string;
beforeEach(() => {
  dir = tempDir('mailgate-stage-');
});

const files = () => [
  { path: join(dir, 'a.crt.pem'), data: 'cert', mode: 0o644 },
  { path: join(dir, 'a.key.pem'), data: 'key', mode: 0o600 },
];

describe('stageFiles', () => {
  it('shows nothing until publish, then every file with its mode', () => {
    const staged = stageFiles(files(), { overwrite: false });
    expect(readdirSync(dir).filter((f) => !f.startsWith('.'))).toEqual([]);
    staged.publish();
    expect(readdirSync(dir).sort()).toEqual(['a.crt.pem', 'a.key.pem']);
    expect(statSync(join(dir, 'a.key.pem')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dir, 'a.crt.pem'), 'utf8')).toBe('cert');
  });

  it('refuses an existing target without overwrite, before writing anything', () => {
    writeFileSync(join(dir, 'a.key.pem'), 'old');
    expect(() => stageFiles(files(), { overwrite: false })).toThrow(
      expect.objectContaining({
        code: 'ERR_CONFLICT',
        message: `${join(dir, 'a.key.pem')} already exists (use --force to replace it)`,
      }),
    );
    expect(readdirSync(dir)).toEqual(['a.key.pem']);
  });

  it('never clobbers a file that appeared after staging, and discard removes everything it wrote', () => {
    const staged = stageFiles(files(), { overwrite: false });
    writeFileSync(join(dir, 'a.key.pem'), 'someone else');
    expect(() => staged.publish()).toThrow(expect.objectContaining({ code: 'ERR_CONFLICT' }));
    staged.discard();
    expect(readdirSync(dir)).toEqual(['a.key.pem']);
    expect(readFileSync(join(dir, 'a.key.pem'), 'utf8')).toBe('someone else');
  });

  it('overwrites with overwrite, and a failed publish leaves no partial set after discard', () => {
    writeFileSync(join(dir, 'a.crt.pem'), 'old');
    mkdirSync(join(dir, 'a.key.pem')); // a rename onto a directory fails, even for root
    const staged = stageFiles(files(), { overwrite: true });
    expect(() => staged.publish()).toThrow(expect.objectContaining({ code: 'ERR_FILE' }));
    staged.discard();
    expect(readdirSync(dir)).toEqual(['a.key.pem']);
  });
});
