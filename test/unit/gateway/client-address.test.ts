import { describe, expect, it } from 'vitest';
import { clientAddress, plainAddress } from '../../../gateway/client-address.js';
import { AddressSet, parseCidr } from '../../../lib/cidr.js';

const trusted = new AddressSet([parseCidr('10.0.0.0/24')!]);
const none = new AddressSet([]);

describe('clientAddress', () => {
  it.each([
    ['203.0.113.9', '1.2.3.4', none, '203.0.113.9'],
    ['203.0.113.9', '1.2.3.4', trusted, '203.0.113.9'],
    ['10.0.0.2', '198.51.100.7', trusted, '198.51.100.7'],
    ['10.0.0.2', '6.6.6.6, 198.51.100.7', trusted, '198.51.100.7'],
    ['10.0.0.2', '198.51.100.7, 10.0.0.3', trusted, '198.51.100.7'],
    ['10.0.0.2', 'garbage', trusted, '10.0.0.2'],
    ['::ffff:10.0.0.2', '198.51.100.7', trusted, '198.51.100.7'],
  ])('peer %s, XFF %j -> %s', (peer, xff, set, expected) => {
    expect(clientAddress(peer, xff, set as AddressSet)).toBe(expected);
  });

  it('strips the IPv4-mapped prefix', () => {
    expect(plainAddress('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(plainAddress('::1')).toBe('::1');
  });
});
