/**
 * @module The `mailgate ca ...` and `mailgate audit` commands, merged into the table in ../commands.ts.
 */

import { CLIENT_ROLES } from '../../certs/rules.js';
import { booleanFlag, type CommandSpec, stringFlag } from '../command-spec.js';

const ca = () => import('../commands/ca.js');

export const CERTS_COMMANDS: readonly CommandSpec[] = [
  {
    path: ['ca', 'init'],
    summary: 'create the CA (RSA-3072, self-signed) and its first CRL',
    usage: '[--cn NAME] [--days N] [--force]',
    options: { cn: stringFlag, days: stringFlag, force: booleanFlag },
    run: async (f, _p, ctx) => (await ca()).caInit(f, ctx),
  },
  {
    path: ['ca', 'cert'],
    summary: 'print or write the CA certificate (PEM), for clients and nginx',
    usage: '[--out FILE]',
    options: { out: stringFlag },
    run: async (f, _p, ctx) => (await ca()).caCert(f, ctx),
  },
  {
    path: ['ca', 'issue', 'client'],
    summary: 'issue an admin-plane client certificate (PEM files and, with a password, a PKCS#12)',
    usage: `--name NAME [--role ${CLIENT_ROLES.join('|')}] [--email ADDR] [--days N] [--out DIR] [--p12-password PW | --p12-password-file F] [--p12-algorithm 3des|aes256] [--force]`,
    options: {
      name: stringFlag,
      role: stringFlag,
      email: stringFlag,
      days: stringFlag,
      out: stringFlag,
      'p12-password': stringFlag,
      'p12-password-file': stringFlag,
      'p12-algorithm': stringFlag,
      force: booleanFlag,
    },
    run: async (f, _p, ctx) => (await ca()).caIssueClient(f, ctx),
  },
  {
    path: ['ca', 'issue', 'server'],
    summary: 'issue a TLS server certificate (chain and key PEM files)',
    usage: '--dns HOST[,HOST...] [--ip IP[,IP...]] [--days N] [--out DIR] [--force]',
    options: { dns: stringFlag, ip: stringFlag, days: stringFlag, out: stringFlag, force: booleanFlag },
    run: async (f, _p, ctx) => (await ca()).caIssueServer(f, ctx),
  },
  {
    path: ['ca', 'list'],
    summary: 'list issued certificates with their status',
    usage: '[--revoked] [--expiring DAYS] [--json]',
    options: { revoked: booleanFlag, expiring: stringFlag },
    run: async (f, _p, ctx) => (await ca()).caList(f, ctx),
  },
  {
    path: ['ca', 'revoke'],
    summary: 'revoke a certificate by serial or name and regenerate the CRL',
    usage:
      'SERIAL|NAME [--reason keyCompromise|affiliationChanged|superseded|cessationOfOperation|unspecified]',
    options: { reason: stringFlag },
    positionals: [1, 1],
    run: async (f, p, ctx) => (await ca()).caRevoke(f, p[0]!, ctx),
  },
  {
    path: ['ca', 'crl'],
    summary: 'print or write the current CRL, regenerating it when stale',
    usage: '[--out FILE] [--der]',
    options: { out: stringFlag, der: booleanFlag },
    run: async (f, _p, ctx) => (await ca()).caCrl(f, ctx),
  },
  {
    path: ['audit'],
    summary:
      'show the audit trail newest first (issuance, revocation, admin access, denials tallied per client)',
    usage: '[--since 24h] [--limit 100] [--before TIME] [--json]',
    options: { since: stringFlag, limit: stringFlag, before: stringFlag },
    run: async (f, _p, ctx) => (await import('../commands/audit.js')).audit(f, ctx),
  },
];
