/**
 * @module SQLite access for the WireGuard server (table wg_server) and its peers (wg_peers): domain verbs only.
 */
import { type Cidr, parseCidr } from '../lib/cidr.js';
import { NotFoundError, StoreError } from '../lib/errors.js';
import type { Database } from '../store/database.js';
import { formatCidr, ipv4ToNumber } from './address-pool.js';

/** The server side of the tunnel; its private key never leaves the data dir except in `wg server-config`. */
export interface WgServer {
  privateKey: string;
  publicKey: string;
  /** `host:port` as peers dial it. */
  endpoint: string;
  cidr: Cidr;
  address: string;
  listenPort: number;
  createdAt: number;
}

/** A peer as stored: its private key is shown once by `wg add` and never stored. */
export interface WgPeer {
  name: string;
  address: string;
  publicKey: string;
  presharedKey: string;
  createdAt: number;
  /** Epoch ms after which `wg server-config` leaves the peer out; null = never. */
  expiresAt: number | null;
  disabled: boolean;
}

interface ServerRow {
  private_key: string;
  public_key: string;
  endpoint: string;
  cidr: string;
  address: string;
  listen_port: number;
  created_at: number;
}

interface PeerRow {
  name: string;
  address: string;
  public_key: string;
  preshared_key: string;
  created_at: number;
  expires_at: number | null;
  disabled: number;
}

/** The server, or undefined before `wg init`. */
export function readServer(db: Database): WgServer | undefined {
  const row = db.prepare('SELECT * FROM wg_server WHERE id = 1').get() as ServerRow | undefined;
  if (!row) return undefined;
  const cidr = parseCidr(row.cidr);
  if (!cidr) throw new StoreError(`wg_server.cidr holds '${row.cidr}', not a CIDR`);
  return {
    privateKey: row.private_key,
    publicKey: row.public_key,
    endpoint: row.endpoint,
    cidr,
    address: row.address,
    listenPort: row.listen_port,
    createdAt: row.created_at,
  };
}

/**
 * The server.
 * @throws NotFoundError telling to run `mailgate wg init` when there is none.
 */
export function requireServer(db: Database): WgServer {
  const server = readServer(db);
  if (!server) throw serverMissing();
  return server;
}

/** The error for every WireGuard command run before `wg init`. */
export function serverMissing(): NotFoundError {
  return new NotFoundError("no WireGuard server yet: run 'mailgate wg init' first");
}

/** Inserts or replaces the one server row. */
export function saveServer(db: Database, server: WgServer): void {
  db.prepare(
    `INSERT OR REPLACE INTO wg_server (id, private_key, public_key, endpoint, cidr, address, listen_port, created_at)
     VALUES (1, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(
    server.privateKey,
    server.publicKey,
    server.endpoint,
    formatCidr(server.cidr),
    server.address,
    server.listenPort,
    server.createdAt,
  );
}

/** Every peer, ordered by address. */
export function listPeers(db: Database): WgPeer[] {
  const rows = db.prepare('SELECT * FROM wg_peers').all() as PeerRow[];
  return rows.map(toPeer).sort((a, b) => ipv4ToNumber(a.address) - ipv4ToNumber(b.address));
}

/** One peer by name, or undefined. */
export function findPeer(db: Database, name: string): WgPeer | undefined {
  const row = db.prepare('SELECT * FROM wg_peers WHERE name = ?').get(name) as PeerRow | undefined;
  return row && toPeer(row);
}

/** Inserts a peer; the caller has checked name and address are free (the UNIQUE constraints back it up). */
export function insertPeer(db: Database, peer: WgPeer): void {
  db.prepare(
    `INSERT INTO wg_peers (name, address, public_key, preshared_key, created_at, expires_at, disabled)
     VALUES (?, ?, ?, ?, ?, ?, ?)`,
  ).run(
    peer.name,
    peer.address,
    peer.publicKey,
    peer.presharedKey,
    peer.createdAt,
    peer.expiresAt,
    peer.disabled ? 1 : 0,
  );
}

/** Deletes one peer; false when there was none by that name. */
export function deletePeer(db: Database, name: string): boolean {
  return db.prepare('DELETE FROM wg_peers WHERE name = ?').run(name).changes > 0;
}

/** Deletes every peer and returns how many there were. */
export function deleteAllPeers(db: Database): number {
  return db.prepare('DELETE FROM wg_peers').run().changes;
}

/** Sets the disabled flag; false when there is no such peer. */
export function setPeerDisabled(db: Database, name: string, disabled: boolean): boolean {
  return (
    db.prepare('UPDATE wg_peers SET disabled = ? WHERE name = ?').run(disabled ? 1 : 0, name).changes > 0
  );
}

function toPeer(row: PeerRow): WgPeer {
  return {
    name: row.name,
    address: row.address,
    publicKey: row.public_key,
    presharedKey: row.preshared_key,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    disabled: row.disabled !== 0,
  };
}
