/**
 * @module `mailgate wg ...`: normalise flags, call the WireGuard capability, print.
 */
import { resolve } from 'node:path';
import { writeFileAtomic } from '../../lib/atomic-file.js';
import { parseDuration } from '../../lib/duration.js';
import { UsageError } from '../../lib/errors.js';
import { withDatabase } from '../../store/database.js';
import {
  APPLY_PEERS_COMMAND,
  commitPeer,
  DEFAULT_WG_CIDR,
  formatCidr,
  initServer,
  listPeers,
  type PeerFiles,
  parseEndpoint,
  parseIpAddress,
  parseWireGuardCidr,
  peerStatus,
  preparePeer,
  qrPng,
  qrTerminal,
  removePeer,
  removePeerFiles,
  requireServer,
  serverConfig,
  serverMissing,
  setPeerEnabled,
  validatePeerName,
  writePeerFiles,
} from '../../wireguard/index.js';
import type { FlagValues } from '../command-spec.js';
import type { CliContext } from '../context.js';
import { optionalInteger, optionalList, optionalString, requiredString } from '../flags.js';

const APPLY_HINT = `apply it on the server: ${APPLY_PEERS_COMMAND}`;

/** `wg init --endpoint HOST:PORT [--cidr R] [--listen-port N] [--force]`. */
export async function wgInit(flags: FlagValues, _p: string[], ctx: CliContext): Promise<void> {
  const endpoint = parseEndpoint(requiredString(flags, 'endpoint'));
  const cidr = parseWireGuardCidr(optionalString(flags, 'cidr') ?? DEFAULT_WG_CIDR);
  const listenPort = optionalInteger(flags, 'listen-port', 1, 65_535);
  const { server, removedPeers } = withDatabase(ctx.dataDir, (db) =>
    initServer(db, { endpoint, cidr, listenPort, force: flags.force === true, actor: ctx.actor }),
  );
  const summary = {
    publicKey: server.publicKey,
    endpoint: server.endpoint,
    cidr: formatCidr(server.cidr),
    address: server.address,
    listenPort: server.listenPort,
    removedPeers,
  };
  if (ctx.json) ctx.out(JSON.stringify(summary));
  ctx.err(
    `WireGuard server ${server.address}/${server.cidr.prefix} on UDP ${server.listenPort}, peers dial ${server.endpoint}` +
      (removedPeers > 0 ? `; removed ${removedPeers} peer(s) of the old server` : ''),
  );
  ctx.err(`public key ${server.publicKey}; next: mailgate wg add NAME, then ${APPLY_HINT}`);
}

/** `wg add NAME [--dns IP,...] [--expires 30d] [--route-public IP] [--qr] [--out DIR] [--json]`. */
export async function wgAdd(flags: FlagValues, positionals: string[], ctx: CliContext): Promise<void> {
  const name = validatePeerName(positionals[0]!);
  const dns = optionalList(flags, 'dns')?.map((ip) => parseIpAddress(ip, '--dns'));
  const routeText = optionalString(flags, 'route-public');
  const routePublic = routeText === undefined ? undefined : parseIpAddress(routeText, '--route-public');
  const expiresInMs = durationFlag(flags, 'expires');
  const outText = optionalString(flags, 'out');
  const outDir = outText === undefined ? undefined : resolve(outText);
  const qr = flags.qr === true;

  const { files, terminal } = await withDatabase(
    ctx.dataDir,
    async (db) => {
      let files: PeerFiles | undefined;
      const prepared = preparePeer(db, { name, dns, expiresInMs, routePublic });
      // QR rendering is async, so it happens before the synchronous store-and-write transaction.
      const png = qr && outDir ? await qrPng(prepared.config) : undefined;
      const terminal = qr ? await qrTerminal(prepared.config) : undefined;
      try {
        db.transaction(() => {
          commitPeer(db, prepared, ctx.actor);
          if (outDir) files = writePeerFiles(outDir, name, { config: prepared.config, png });
        }).immediate();
      } catch (error) {
        if (files) removePeerFiles(files);
        throw error;
      }
      const { peer, config } = prepared;
      if (ctx.json) {
        ctx.out(JSON.stringify({ name, address: peer.address, publicKey: peer.publicKey, config, files }));
      } else {
        ctx.out(config);
      }
      return { files, terminal };
    },
    serverMissing,
  );
  if (terminal) ctx.err(terminal);
  if (files) ctx.err(`wrote ${Object.values(files).join(' and ')} (0600: they hold the peer's private key)`);
  ctx.err(`peer '${name}' added; its private key is shown only now. Then ${APPLY_HINT}`);
}

/** `wg list [--json]`. Like every wg command but init, it never creates a data dir. */
export async function wgList(_f: FlagValues, _p: string[], ctx: CliContext): Promise<void> {
  const now = Date.now();
  const peers = withDatabase(
    ctx.dataDir,
    (db) => {
      requireServer(db);
      return listPeers(db);
    },
    serverMissing,
  );
  const rows = peers.map((peer) => ({
    name: peer.name,
    address: peer.address,
    publicKey: peer.publicKey,
    status: peerStatus(peer, now),
    createdAt: new Date(peer.createdAt).toISOString(),
    expiresAt: peer.expiresAt === null ? null : new Date(peer.expiresAt).toISOString(),
  }));
  if (ctx.json) return ctx.out(JSON.stringify(rows));
  if (rows.length === 0) return ctx.err("no WireGuard peers yet: add one with 'mailgate wg add NAME'");
  const table = [['NAME', 'ADDRESS', 'STATUS', 'EXPIRES', 'PUBLIC KEY']].concat(
    rows.map((r) => [r.name, r.address, r.status, r.expiresAt ?? 'never', r.publicKey]),
  );
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  ctx.out(
    table
      .map((row) =>
        row
          .map((cell, i) => cell.padEnd(widths[i]!))
          .join('  ')
          .trimEnd(),
      )
      .join('\n'),
  );
}

/** `wg remove NAME`. */
export async function wgRemove(_f: FlagValues, positionals: string[], ctx: CliContext): Promise<void> {
  const name = validatePeerName(positionals[0]!);
  const peer = withDatabase(ctx.dataDir, (db) => removePeer(db, name, ctx.actor), serverMissing);
  ctx.err(`removed peer '${name}' (${peer.address}); ${APPLY_HINT}`);
}

/** `wg disable NAME` / `wg enable NAME`. */
export async function wgSetEnabled(
  _f: FlagValues,
  positionals: string[],
  ctx: CliContext,
  enabled: boolean,
): Promise<void> {
  const name = validatePeerName(positionals[0]!);
  withDatabase(ctx.dataDir, (db) => setPeerEnabled(db, name, enabled, ctx.actor), serverMissing);
  ctx.err(`${enabled ? 'enabled' : 'disabled'} peer '${name}'; ${APPLY_HINT}`);
}

/** `wg server-config [--out FILE]`. */
export async function wgServerConfig(flags: FlagValues, _p: string[], ctx: CliContext): Promise<void> {
  const text = withDatabase(ctx.dataDir, (db) => serverConfig(db), serverMissing);
  const out = optionalString(flags, 'out');
  if (out === undefined) return ctx.out(text);
  writeFileAtomic(resolve(out), text, { mode: 0o600 });
  ctx.err(`wrote ${resolve(out)} (0600)`);
}

function durationFlag(flags: FlagValues, name: string): number | undefined {
  const text = optionalString(flags, name);
  if (text === undefined) return undefined;
  const ms = parseDuration(text);
  if (ms === undefined)
    throw new UsageError(`--${name} must be a duration like 30d, 12h or 90m, got '${text}'`);
  return ms;
}
