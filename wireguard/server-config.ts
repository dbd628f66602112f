/**
 * @module `wg server-config` and the WireGuard range other capabilities read from the store.
 */
import type { Cidr } from '../lib/cidr.js';
import type { Database } from '../store/database.js';
import { peerStatus } from './peer-state.js';
import { listPeers, readServer, requireServer } from './store.js';
import { renderServerConfig } from './wg-quick-config.js';

/** What to run after any peer change, so the running interface gets the new peer set without a restart. */
export const APPLY_PEERS_COMMAND =
  'mailgate wg server-config --out /etc/wireguard/wg0.conf && wg syncconf wg0 <(wg-quick strip wg0)';

/**
 * The server's wg-quick file with every peer that is enabled and unexpired at `now`.
 * @throws NotFoundError before `wg init`.
 * @example writeFileAtomic('/etc/wireguard/wg0.conf', serverConfig(db), { mode: 0o600 })
 */
export function serverConfig(db: Database, now = Date.now()): string {
  const server = requireServer(db);
  return renderServerConfig({
    ...server,
    peers: listPeers(db).filter((peer) => peerStatus(peer, now) === 'active'),
  });
}

/**
 * The WireGuard range after `wg init` (so `admin.sourceCidrs` can default to it), or undefined before.
 * @example wireguardRange(db) // { address: '10.8.0.0', prefix: 24, family: 'ipv4' }
 */
export function wireguardRange(db: Database): Cidr | undefined {
  return readServer(db)?.cidr;
}
