import { describe, expect, it } from 'vitest';
import {
  nextFreeAddress,
  parseWireGuardCidr,
  peerCapacity,
  serverAddress,
} from '../../../wireguard/address-pool.js';
import { thrownBy } from '../../helpers/thrown.js';

describe('parseWireGuardCidr', () => {
  it('accepts IPv4 network addresses from /8 to /30', () => {
    expect(parseWireGuardCidr('10.8.0.0/24')).toEqual({ address: '10.8.0.0', prefix: 24, family: 'ipv4' });
    expect(parseWireGuardCidr('10.0.0.0/8').prefix).toBe(8);
    expect(parseWireGuardCidr('192.168.7.4/30').prefix).toBe(30);
  });

  it.each([
    ['10.8.0.0', 'must be an IPv4 range'],
    ['nonsense', 'must be an IPv4 range'],
    ['10.8.0.0/33', 'must be an IPv4 range'],
    ['10.8.0.256/24', 'must be an IPv4 range'],
    ['fd00::/64', 'only IPv4'],
    ['10.8.0.0/31', 'prefix must be /8 to /30'],
    ['10.0.0.0/7', 'prefix must be /8 to /30'],
    ['10.8.0.1/24', 'did you mean 10.8.0.0/24?'],
  ])('rejects %s with a usage error naming --cidr', (text, message) => {
    const error = thrownBy(() => parseWireGuardCidr(text));
    expect(error.code).toBe('ERR_USAGE');
    expect(error.message).toContain('--cidr');
    expect(error.message).toContain(message);
  });
});

describe('address allocation', () => {
  const range = parseWireGuardCidr('10.8.0.0/29');
  const server = serverAddress(range);

  it('puts the server on the first host and the first peer right after it', () => {
    expect(server).toBe('10.8.0.1');
    expect(nextFreeAddress(range, [server])).toBe('10.8.0.2');
  });

  it('hands out the last host before the broadcast address, then refuses naming the range', () => {
    const used = [server, '10.8.0.2', '10.8.0.3', '10.8.0.4', '10.8.0.5'];
    expect(nextFreeAddress(range, used)).toBe('10.8.0.6');
    expect(peerCapacity(range)).toBe(5);
    const error = thrownBy(() => nextFreeAddress(range, [...used, '10.8.0.6']));
    expect(error.code).toBe('ERR_CONFLICT');
    expect(error.message).toBe('the WireGuard range 10.8.0.0/29 is full (5 peers): remove a peer first');
  });

  it('reuses the lowest address freed by a removed peer', () => {
    expect(nextFreeAddress(range, [server, '10.8.0.2', '10.8.0.4'])).toBe('10.8.0.3');
  });

  it('holds exactly one peer in a /30', () => {
    const tiny = parseWireGuardCidr('192.168.7.4/30');
    expect(serverAddress(tiny)).toBe('192.168.7.5');
    expect(nextFreeAddress(tiny, ['192.168.7.5'])).toBe('192.168.7.6');
    expect(thrownBy(() => nextFreeAddress(tiny, ['192.168.7.5', '192.168.7.6'])).code).toBe('ERR_CONFLICT');
  });

  it('crosses octet boundaries in larger ranges', () => {
    const big = parseWireGuardCidr('10.9.0.0/23');
    const used = [serverAddress(big)];
    for (let host = 2; host <= 255; host++) used.push(`10.9.0.${host}`);
    expect(nextFreeAddress(big, used)).toBe('10.9.1.0');
  });
});
