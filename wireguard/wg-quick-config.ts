/**
 * @module Pure renderers of wg-quick(8) files: the server's interface and a peer's tunnel.
 */
import { isIP } from 'node:net';
import type { Cidr } from '../lib/cidr.js';
import { formatCidr } from './address-pool.js';

/** Keeps NAT mappings and stateful firewalls open for peers behind them (wg(8) recommends 25 s). */
export const PERSISTENT_KEEPALIVE_SECONDS = 25;

export interface ServerConfigInput {
  privateKey: string;
  /** The server's tunnel address (first host of the range). */
  address: string;
  cidr: Cidr;
  listenPort: number;
  peers: readonly { name: string; address: string; publicKey: string; presharedKey: string }[];
}

export interface PeerConfigInput {
  name: string;
  privateKey: string;
  address: string;
  /** DNS servers the tunnel sets (wg-quick runs resolvconf); none by default. */
  dns: readonly string[];
  serverPublicKey: string;
  presharedKey: string;
  /** `host:port` as peers dial it. */
  endpoint: string;
  cidr: Cidr;
  /**
   * The server's public address: routed through the tunnel too, so that the public host name of
   * mailgate is reached from the WireGuard address the admin plane requires.
   */
  routePublic?: string | undefined;
}

/**
 * The server's wg-quick file: [Interface] with its key, address/prefix and port, one [Peer] per given
 * peer (the caller passes only enabled, unexpired ones) with AllowedIPs of its single address.
 * @example renderServerConfig({ privateKey, address: '10.8.0.1', cidr, listenPort: 51820, peers: [] })
 */
export function renderServerConfig(input: ServerConfigInput): string {
  const lines = [
    '# WireGuard server interface, written by `mailgate wg server-config`. Keep it 0600.',
    '[Interface]',
    `PrivateKey = ${input.privateKey}`,
    `Address = ${input.address}/${input.cidr.prefix}`,
    `ListenPort = ${input.listenPort}`,
  ];
  for (const peer of input.peers) {
    lines.push(
      '',
      `# ${peer.name}`,
      '[Peer]',
      `PublicKey = ${peer.publicKey}`,
      `PresharedKey = ${peer.presharedKey}`,
      `AllowedIPs = ${peer.address}/32`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/**
 * A peer's wg-quick file: its own key and /32 address, the server as its only peer, and only the
 * WireGuard range (plus, optionally, the server's public address) routed through the tunnel.
 */
export function renderPeerConfig(input: PeerConfigInput): string {
  const allowed = [formatCidr(input.cidr)];
  if (input.routePublic) allowed.push(`${input.routePublic}/${isIP(input.routePublic) === 6 ? 128 : 32}`);
  const lines = [
    `# WireGuard tunnel "${input.name}" to mailgate, written by \`mailgate wg add\`. Keep it secret.`,
    '[Interface]',
    `PrivateKey = ${input.privateKey}`,
    `Address = ${input.address}/32`,
    ...(input.dns.length > 0 ? [`DNS = ${input.dns.join(', ')}`] : []),
    '',
    '[Peer]',
    `PublicKey = ${input.serverPublicKey}`,
    `PresharedKey = ${input.presharedKey}`,
    `Endpoint = ${input.endpoint}`,
    `AllowedIPs = ${allowed.join(', ')}`,
    `PersistentKeepalive = ${PERSISTENT_KEEPALIVE_SECONDS}`,
  ];
  return `${lines.join('\n')}\n`;
}
