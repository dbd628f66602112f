/**
 * @module `wg init`: create (or, with force, replace) the WireGuard server: key pair, range, endpoint.
 */

import type { Cidr } from '../lib/cidr.js';
import { ConflictError } from '../lib/errors.js';
import { appendAudit } from '../store/audit.js';
import type { Database } from '../store/database.js';
import { formatCidr, serverAddress } from './address-pool.js';
import { type Endpoint, formatEndpoint } from './endpoint.js';
import { generateKeyPair } from './keys.js';
import { deleteAllPeers, readServer, saveServer, type WgServer } from './store.js';

export interface InitServerOptions {
  /** Where peers dial (from parseEndpoint). */
  endpoint: Endpoint;
  /** The WireGuard range (from parseWireGuardCidr; the CLI defaults to 10.8.0.0/24). */
  cidr: Cidr;
  /** UDP port the server listens on; default the endpoint's port (differs only behind port forwarding). */
  listenPort?: number | undefined;
  /** Replace an existing server. Its new key invalidates every peer config, so all peers are removed. */
  force?: boolean | undefined;
  actor: string;
  now?: number;
}

export interface InitServerResult {
  server: WgServer;
  /** Peers removed because the server was replaced (force). */
  removedPeers: number;
}

/**
 * Generates the server key pair and stores the server in one audited transaction.
 * @throws ConflictError when a server exists and `force` is not set.
 * @example initServer(db, { endpoint: parseEndpoint('vpn.example.com:51820'), cidr, actor: 'cli:root@host' })
 */
export function initServer(db: Database, options: InitServerOptions): InitServerResult {
  const { endpoint, cidr } = options;
  const keys = generateKeyPair();
  const server: WgServer = {
    ...keys,
    endpoint: formatEndpoint(endpoint),
    cidr,
    address: serverAddress(cidr),
    listenPort: options.listenPort ?? endpoint.port,
    createdAt: options.now ?? Date.now(),
  };
  return db
    .transaction((): InitServerResult => {
      if (readServer(db) && !options.force) {
        throw new ConflictError(
          'a WireGuard server already exists: --force replaces its keys and removes every peer',
        );
      }
      const removedPeers = deleteAllPeers(db);
      saveServer(db, server);
      appendAudit(db, {
        actor: options.actor,
        action: 'wg.init',
        target: server.address,
        at: server.createdAt,
        detail: {
          publicKey: server.publicKey,
          endpoint: server.endpoint,
          cidr: formatCidr(cidr),
          listenPort: server.listenPort,
          removedPeers,
        },
      });
      return { server, removedPeers };
    })
    .immediate();
}
