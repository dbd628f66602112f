import { resolve } from 'node:path';
import { caBackupFiles } from '../../certs/ca-files.js';
import { NotFoundError } from '../../lib/errors.js';
import { createBackup } from '../../store/backup.js';
import { withDatabase } from '../../store/database.js';
import { restoreBackup } from '../../store/restore.js';
import type { FlagValues } from '../command-spec.js';
import type { CliContext } from '../context.js';
import { requiredString } from '../flags.js';

/** `backup --out FILE [--force] [--json]` */
export async function backup(flags: FlagValues, _p: string[], ctx: CliContext): Promise<void> {
  const outFile = resolve(requiredString(flags, 'out'));
  // Backing up never creates a database: a data dir without one has nothing to save.
  const result = await withDatabase(
    ctx.dataDir,
    (db) =>
      createBackup(db, ctx.dataDir, outFile, {
        force: flags.force === true,
        actor: ctx.actor,
        files: caBackupFiles(ctx.dataDir),
      }),
    () => new NotFoundError(`no mailgate database in ${ctx.dataDir}: nothing to back up`),
  );
  if (ctx.json) ctx.out(JSON.stringify(result));
  else {
    ctx.err(
      `backed up ${ctx.dataDir} to ${result.file} (${result.files.length} files, ${result.bytes} bytes, mode 0600)`,
    );
    ctx.err('it holds the CA and signing keys: keep it off this host, encrypted, and test restoring it');
  }
}

/** `restore FILE --data-dir DIR [--force] [--json]` */
export async function restore(flags: FlagValues, positionals: string[], ctx: CliContext): Promise<void> {
  const archive = resolve(positionals[0]!);
  const result = restoreBackup(archive, ctx.dataDir, { force: flags.force === true, actor: ctx.actor });
  if (ctx.json) ctx.out(JSON.stringify(result));
  else {
    ctx.err(
      `restored the backup of ${result.createdAt} into ${result.dataDir} (${result.files.length} files${result.replaced ? ', previous contents replaced' : ''})`,
    );
  }
}
