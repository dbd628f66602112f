/**
 * @module `wg add`: allocate the next free address, make the peer's keys and config, store it audited.
 */
import { ConflictError } from '../lib/errors.js';
import { appendAudit } from '../store/audit.js';
import type { Database } from '../store/database.js';
import { nextFreeAddress } from './address-pool.js';
import { generateKeyPair, generatePresharedKey } from './keys.js';
import { validatePeerName } from './peer-name.js';
import { findPeer, insertPeer, listPeers, requireServer, type WgPeer } from './store.js';
import { renderPeerConfig } from './wg-quick-config.js';

export interface AddPeerOptions {
  name: string;
  /** DNS servers for the tunnel (already validated IP addresses). */
  dns?: readonly string[] | undefined;
  /** Lifetime in ms; after it `wg server-config` leaves the peer out. */
  expiresInMs?: number | undefined;
  /** The server's public address, routed through the tunnel too (already validated). */
  routePublic?: string | undefined;
  now?: number;
}

/** A peer ready to store, with its one-time secrets: the private key is in `config` and nowhere else. */
export interface PreparedPeer {
  peer: WgPeer;
  privateKey: string;
  /** The peer's wg-quick file. */
  config: string;
}

/**
 * Builds the peer in memory (nothing is written), so callers can render QR codes and check files first.
 * @throws UsageError for a bad name; NotFoundError before `wg init`; ConflictError for a taken name or a full range.
 */
export function preparePeer(db: Database, options: AddPeerOptions): PreparedPeer {
  const name = validatePeerName(options.name);
  const server = requireServer(db);
  const peers = listPeers(db);
  assertNameFree(db, name);
  const address = nextFreeAddress(server.cidr, [server.address, ...peers.map((p) => p.address)]);
  const keys = generateKeyPair();
  const now = options.now ?? Date.now();
  const peer: WgPeer = {
    name,
    address,
    publicKey: keys.publicKey,
    presharedKey: generatePresharedKey(),
    createdAt: now,
    expiresAt: options.expiresInMs === undefined ? null : now + options.expiresInMs,
    disabled: false,
  };
  const config = renderPeerConfig({
    name,
    privateKey: keys.privateKey,
    address,
    dns: options.dns ?? [],
    serverPublicKey: server.publicKey,
    presharedKey: peer.presharedKey,
    endpoint: server.endpoint,
    cidr: server.cidr,
    routePublic: options.routePublic,
  });
  return { peer, privateKey: keys.privateKey, config };
}

/**
 * Stores a prepared peer with its audit record in one transaction (a savepoint inside a caller's
 * transaction), re-checking name and address in case another process added a peer meanwhile.
 * @throws ConflictError when the name or address has been taken since `preparePeer`.
 */
export function commitPeer(db: Database, prepared: PreparedPeer, actor: string): void {
  const { peer } = prepared;
  db.transaction(() => {
    assertNameFree(db, peer.name);
    if (listPeers(db).some((p) => p.address === peer.address)) {
      throw new ConflictError(
        `address ${peer.address} was just taken by another peer: run the command again`,
      );
    }
    insertPeer(db, peer);
    appendAudit(db, {
      actor,
      action: 'wg.add',
      target: peer.name,
      at: peer.createdAt,
      detail: { address: peer.address, publicKey: peer.publicKey, expiresAt: peer.expiresAt },
    });
  }).immediate();
}

/**
 * Prepares and stores a peer.
 * @example const { config } = addPeer(db, { name: 'alice' }, 'cli:root@host');
 */
export function addPeer(db: Database, options: AddPeerOptions, actor: string): PreparedPeer {
  const prepared = preparePeer(db, options);
  commitPeer(db, prepared, actor);
  return prepared;
}

function assertNameFree(db: Database, name: string) {
  if (findPeer(db, name)) throw new ConflictError(`a WireGuard peer named '${name}' already exists`);
}
