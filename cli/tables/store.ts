/**
 * @module The `mailgate backup` and `mailgate restore` commands, merged into the table in ../commands.ts.
 */
import { booleanFlag, type CommandSpec, stringFlag } from '../command-spec.js';

const backup = () => import('../commands/backup.js');

export const STORE_COMMANDS: readonly CommandSpec[] = [
  {
    path: ['backup'],
    summary:
      'write a consistent snapshot of the data dir (database, CA and TLS keys) to one 0600 archive, while the gateway runs',
    usage: '--out FILE [--force] [--json]',
    options: { out: stringFlag, force: booleanFlag },
    run: async (f, p, ctx) => (await backup()).backup(f, p, ctx),
  },
  {
    path: ['restore'],
    summary: 'restore a backup archive into a data dir (refuses a non-empty one without --force)',
    usage: 'FILE --data-dir DIR [--force] [--json]',
    options: { force: booleanFlag },
    positionals: [1, 1],
    run: async (f, p, ctx) => (await backup()).restore(f, p, ctx),
  },
];
