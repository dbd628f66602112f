/**
 * @module Peer lifecycle after `wg add`: status, remove, disable and enable, each audited.
 */
import { NotFoundError } from '../lib/errors.js';
import { appendAudit } from '../store/audit.js';
import type { Database } from '../store/database.js';
import { deletePeer, findPeer, requireServer, setPeerDisabled, type WgPeer } from './store.js';

export type PeerStatus = 'active' | 'disabled' | 'expired';

/** Whether the peer goes into the server config at `now`. */
export function peerStatus(peer: WgPeer, now: number): PeerStatus {
  if (peer.disabled) return 'disabled';
  return peer.expiresAt !== null && peer.expiresAt <= now ? 'expired' : 'active';
}

/**
 * Deletes a peer; its address becomes free for the next `wg add`.
 * @throws NotFoundError before `wg init` or when there is no peer of that name.
 */
export function removePeer(db: Database, name: string, actor: string): WgPeer {
  return db
    .transaction(() => {
      const peer = requirePeer(db, name);
      deletePeer(db, name);
      appendAudit(db, { actor, action: 'wg.remove', target: name, detail: { address: peer.address } });
      return peer;
    })
    .immediate();
}

/**
 * Disables or re-enables a peer without losing its address or keys.
 * @throws NotFoundError before `wg init` or when there is no peer of that name.
 */
export function setPeerEnabled(db: Database, name: string, enabled: boolean, actor: string): WgPeer {
  return db
    .transaction(() => {
      const peer = requirePeer(db, name);
      setPeerDisabled(db, name, !enabled);
      appendAudit(db, {
        actor,
        action: enabled ? 'wg.enable' : 'wg.disable',
        target: name,
        detail: { address: peer.address },
      });
      return { ...peer, disabled: !enabled };
    })
    .immediate();
}

function requirePeer(db: Database, name: string): WgPeer {
  requireServer(db);
  const peer = findPeer(db, name);
  if (!peer) throw new NotFoundError(`no WireGuard peer named '${name}'`);
  return peer;
}
