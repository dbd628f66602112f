/**
 * @module The command table: every `mailgate` command, its flags and the lazily imported module behind it.
 */

import { booleanFlag, type CommandSpec, stringFlag } from './command-spec.js';
import { ADMIN_COMMANDS } from './tables/admin.js';
import { CERTS_COMMANDS } from './tables/certs.js';
import { STORE_COMMANDS } from './tables/store.js';
import { TOKENS_COMMANDS } from './tables/tokens.js';
import { WIREGUARD_COMMANDS } from './tables/wireguard.js';

export type { CommandSpec, FlagValues } from './command-spec.js';

export const COMMANDS: readonly CommandSpec[] = [
  {
    path: ['serve'],
    summary: 'run the gateway',
    usage: '[--workers auto|N]',
    options: { workers: stringFlag },
    run: async (flags, _p, ctx) => (await import('./commands/serve.js')).serve(flags, ctx),
  },
  {
    path: ['check-config'],
    summary: 'validate the configuration and exit',
    usage: '',
    options: {},
    run: async (_f, _p, ctx) => (await import('./commands/check-config.js')).checkConfig(ctx),
  },
  ...CERTS_COMMANDS,
  ...TOKENS_COMMANDS,
  ...WIREGUARD_COMMANDS,
  ...ADMIN_COMMANDS,
  ...STORE_COMMANDS,
];

/** The global flags every command accepts. */
export const GLOBAL_OPTIONS = {
  'data-dir': stringFlag,
  config: stringFlag,
  json: booleanFlag,
  help: { type: 'boolean', short: 'h' },
} as const;
