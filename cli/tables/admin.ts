/**
 * @module The `mailgate admin ...` commands, merged into the table in ../commands.ts.
 */

import { CLIENT_ROLES } from '../../certs/rules.js';
import { booleanFlag, type CommandSpec, stringFlag } from '../command-spec.js';

export const ADMIN_COMMANDS: readonly CommandSpec[] = [
  {
    path: ['admin', 'onboard'],
    summary:
      'onboard an admin in one step: client certificate and PKCS#12 (password shown once), WireGuard peer, files and a guide',
    usage: `NAME [--role ${CLIENT_ROLES.join('|')}] --out DIR [--email ADDR] [--days N] [--dns IP[,IP...]] [--route-public IP] [--p12-password-file F] [--with-pem-key] [--json]`,
    options: {
      role: stringFlag,
      out: stringFlag,
      email: stringFlag,
      days: stringFlag,
      dns: stringFlag,
      'route-public': stringFlag,
      'p12-password-file': stringFlag,
      'with-pem-key': booleanFlag,
    },
    positionals: [1, 1],
    run: async (f, p, ctx) => (await import('../commands/admin-onboard.js')).adminOnboard(f, p, ctx),
  },
];
