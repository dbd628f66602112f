/**
 * @module The `mailgate wg ...` commands, merged into the table in ../commands.ts.
 */
import { booleanFlag, type CommandSpec, stringFlag } from '../command-spec.js';

const wg = () => import('../commands/wg.js');

export const WIREGUARD_COMMANDS: readonly CommandSpec[] = [
  {
    path: ['wg', 'init'],
    summary: 'create the WireGuard server (key pair, range, endpoint peers dial)',
    usage: '--endpoint HOST:PORT [--cidr 10.8.0.0/24] [--listen-port N] [--force]',
    options: { endpoint: stringFlag, cidr: stringFlag, 'listen-port': stringFlag, force: booleanFlag },
    run: async (f, p, ctx) => (await wg()).wgInit(f, p, ctx),
  },
  {
    path: ['wg', 'add'],
    summary: 'add a peer and print its wg-quick config (its private key is shown once)',
    usage: 'NAME [--dns IP[,IP...]] [--expires 30d] [--route-public IP] [--qr] [--out DIR] [--json]',
    options: {
      dns: stringFlag,
      expires: stringFlag,
      'route-public': stringFlag,
      qr: booleanFlag,
      out: stringFlag,
    },
    positionals: [1, 1],
    run: async (f, p, ctx) => (await wg()).wgAdd(f, p, ctx),
  },
  {
    path: ['wg', 'list'],
    summary: 'list the WireGuard peers',
    usage: '[--json]',
    options: {},
    run: async (f, p, ctx) => (await wg()).wgList(f, p, ctx),
  },
  {
    path: ['wg', 'remove'],
    summary: 'remove a peer (its address becomes free)',
    usage: 'NAME',
    options: {},
    positionals: [1, 1],
    run: async (f, p, ctx) => (await wg()).wgRemove(f, p, ctx),
  },
  {
    path: ['wg', 'disable'],
    summary: 'leave a peer out of the server config, keeping its address and keys',
    usage: 'NAME',
    options: {},
    positionals: [1, 1],
    run: async (f, p, ctx) => (await wg()).wgSetEnabled(f, p, ctx, false),
  },
  {
    path: ['wg', 'enable'],
    summary: 'put a disabled peer back into the server config',
    usage: 'NAME',
    options: {},
    positionals: [1, 1],
    run: async (f, p, ctx) => (await wg()).wgSetEnabled(f, p, ctx, true),
  },
  {
    path: ['wg', 'server-config'],
    summary: "print (or write 0600) the server's wg-quick file with every active peer",
    usage: '[--out FILE]',
    options: { out: stringFlag },
    run: async (f, p, ctx) => (await wg()).wgServerConfig(f, p, ctx),
  },
];
