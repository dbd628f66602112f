import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { addPeer } from '../../wireguard/add-peer.js';
import { parseWireGuardCidr } from '../../wireguard/address-pool.js';
import { parseEndpoint } from '../../wireguard/endpoint.js';
import { initServer } from '../../wireguard/init-server.js';
import { setPeerEnabled } from '../../wireguard/peer-state.js';
import { serverConfig } from '../../wireguard/server-config.js';
import { tempDatabase, tempDir } from '../helpers/temp-store.js';

/** `wg-quick strip` only accepts a file named like an interface (wg0.conf), hence one temp dir per config. */
function strip(config: string): string {
  const file = join(tempDir('mailgate-wg-quick-'), 'wg0.conf');
  writeFileSync(file, config, { mode: 0o600 });
  return execFileSync('wg-quick', ['strip', file], { encoding: 'utf8' });
}

function field(text: string, key: string): string[] {
  return [...text.matchAll(new RegExp(`^${key} = (.*)$`, 'gm'))].map((m) => m[1]!);
}

function wgPubkey(privateKey: string): string {
  return execFileSync('wg', ['pubkey'], { input: `${privateKey}\n`, encoding: 'utf8' }).trim();
}

describe('generated configs parse with wg-quick strip', () => {
  const { db } = tempDatabase('mailgate-wg-quick-');
  const { server } = initServer(db, {
    endpoint: parseEndpoint('vpn.example.com:51820'),
    cidr: parseWireGuardCidr('10.8.0.0/24'),
    actor: 'test',
  });
  const alice = addPeer(db, { name: 'alice', dns: ['10.8.0.1'], routePublic: '203.0.113.7' }, 'test');
  const bob = addPeer(db, { name: 'bob' }, 'test');
  addPeer(db, { name: 'carol' }, 'test');
  setPeerEnabled(db, 'carol', false, 'test');

  it('keeps the wg(8) keys of a peer config and drops the wg-quick ones', () => {
    const stripped = strip(alice.config);
    expect(field(stripped, 'PrivateKey')).toEqual([alice.privateKey]);
    expect(field(stripped, 'PublicKey')).toEqual([server.publicKey]);
    expect(field(stripped, 'PresharedKey')).toEqual([alice.peer.presharedKey]);
    expect(field(stripped, 'Endpoint')).toEqual(['vpn.example.com:51820']);
    expect(field(stripped, 'AllowedIPs')).toEqual(['10.8.0.0/24, 203.0.113.7/32']);
    expect(field(stripped, 'PersistentKeepalive')).toEqual(['25']);
    expect(field(stripped, 'Address')).toEqual([]);
    expect(field(stripped, 'DNS')).toEqual([]);
  });

  it('renders a server config whose peers match the keys wg derives from the peer configs', () => {
    const text = serverConfig(db);
    const stripped = strip(text);
    expect(field(text, 'Address')).toEqual(['10.8.0.1/24']);
    expect(field(stripped, 'ListenPort')).toEqual(['51820']);
    // The peer's private key and the server's list agree, and so do the server's key and the peer's list.
    expect(field(stripped, 'PublicKey')).toEqual([wgPubkey(alice.privateKey), wgPubkey(bob.privateKey)]);
    expect(field(stripped, 'AllowedIPs')).toEqual(['10.8.0.2/32', '10.8.0.3/32']);
    expect(wgPubkey(field(stripped, 'PrivateKey')[0]!)).toBe(field(alice.config, 'PublicKey')[0]);
  });

  it('parses the configs of a /30 range: an IPv6 endpoint and its single peer', () => {
    const { db: tiny } = tempDatabase('mailgate-wg-quick-');
    initServer(tiny, {
      endpoint: parseEndpoint('[2001:db8::7]:51820'),
      cidr: parseWireGuardCidr('10.9.0.0/30'),
      listenPort: 443,
      actor: 'test',
    });
    expect(field(strip(serverConfig(tiny)), 'ListenPort')).toEqual(['443']);
    const only = addPeer(tiny, { name: 'only' }, 'test');
    expect(field(only.config, 'Address')).toEqual(['10.9.0.2/32']);
    expect(field(strip(only.config), 'Endpoint')).toEqual(['[2001:db8::7]:51820']);
  });
});
