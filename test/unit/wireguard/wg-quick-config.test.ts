import { describe, expect, it } from 'vitest';
import { parseWireGuardCidr } from '../../../wireguard/address-pool.js';
import { renderPeerConfig, renderServerConfig } from '../../../wireguard/wg-quick-config.js';

const cidr = parseWireGuardCidr('10.8.0.0/24');
const KEY = (c: string) => `${c.repeat(43)}=`;

describe('renderPeerConfig', () => {
  const base = {
    name: 'alice',
    privateKey: KEY('A'),
    address: '10.8.0.2',
    dns: [],
    serverPublicKey: KEY('B'),
    presharedKey: KEY('C'),
    endpoint: 'vpn.example.com:51820',
    cidr,
  };

  it('routes only the WireGuard range through the tunnel and keeps NAT mappings alive', () => {
    const lines = renderPeerConfig(base).split('\n');
    expect(lines).toContain('[Interface]');
    expect(lines).toContain(`PrivateKey = ${KEY('A')}`);
    expect(lines).toContain('Address = 10.8.0.2/32');
    expect(lines.some((l) => l.startsWith('DNS'))).toBe(false);
    expect(lines).toContain(`PublicKey = ${KEY('B')}`);
    expect(lines).toContain(`PresharedKey = ${KEY('C')}`);
    expect(lines).toContain('Endpoint = vpn.example.com:51820');
    expect(lines).toContain('AllowedIPs = 10.8.0.0/24');
    expect(lines).toContain('PersistentKeepalive = 25');
  });

  it('adds DNS servers and the public address route when asked', () => {
    const text = renderPeerConfig({ ...base, dns: ['10.8.0.1', '2001:db8::53'], routePublic: '203.0.113.7' });
    expect(text).toContain('DNS = 10.8.0.1, 2001:db8::53\n');
    expect(text).toContain('AllowedIPs = 10.8.0.0/24, 203.0.113.7/32\n');
    expect(renderPeerConfig({ ...base, routePublic: '2001:db8::7' })).toContain(
      'AllowedIPs = 10.8.0.0/24, 2001:db8::7/128\n',
    );
  });
});

describe('renderServerConfig', () => {
  it('lists one [Peer] per given peer with its single address', () => {
    const text = renderServerConfig({
      privateKey: KEY('D'),
      address: '10.8.0.1',
      cidr,
      listenPort: 51820,
      peers: [
        { name: 'alice', address: '10.8.0.2', publicKey: KEY('E'), presharedKey: KEY('F') },
        { name: 'bob', address: '10.8.0.3', publicKey: KEY('G'), presharedKey: KEY('H') },
      ],
    });
    expect(text).toContain(
      `[Interface]\nPrivateKey = ${KEY('D')}\nAddress = 10.8.0.1/24\nListenPort = 51820\n`,
    );
    expect(text.match(/\[Peer\]/g)).toHaveLength(2);
    expect(text).toContain(
      `# bob\n[Peer]\nPublicKey = ${KEY('G')}\nPresharedKey = ${KEY('H')}\nAllowedIPs = 10.8.0.3/32\n`,
    );
  });
});
