/**
 * @module The `mailgate token ...` and `mailgate keys rotate` commands, merged into the table in ../commands.ts.
 */
import { type CommandSpec, stringFlag } from '../command-spec.js';

export const TOKENS_COMMANDS: readonly CommandSpec[] = [
  {
    path: ['token', 'issue'],
    summary: 'issue an API token for an app (printed once, never stored)',
    usage:
      '--app NAME --scope SCOPE[,SCOPE...] [--ttl 90d] [--rate 60/min] [--burst N] [--quota 1000/day] [--json]',
    options: {
      app: stringFlag,
      scope: stringFlag,
      ttl: stringFlag,
      rate: stringFlag,
      burst: stringFlag,
      quota: stringFlag,
    },
    run: async (f, _p, ctx) => (await import('../commands/token.js')).tokenIssue(f, ctx),
  },
  {
    path: ['token', 'list'],
    summary: 'list API tokens (metadata only)',
    usage: '[--json]',
    options: {},
    run: async (_f, _p, ctx) => (await import('../commands/token.js')).tokenList(ctx),
  },
  {
    path: ['token', 'revoke'],
    summary: 'revoke an API token at once',
    usage: 'ID',
    options: {},
    positionals: [1, 1],
    run: async (_f, p, ctx) => (await import('../commands/token.js')).tokenRevoke(p[0]!, ctx),
  },
  {
    path: ['keys', 'rotate'],
    summary: 'make a new active token signing key (old keys keep verifying)',
    usage: '',
    options: {},
    run: async (_f, _p, ctx) => (await import('../commands/keys.js')).keysRotate(ctx),
  },
];
