import { describe, expect, it } from 'vitest';
import { AddressSet, parseCidr } from '../../../lib/cidr.js';

describe('parseCidr', () => {
  it.each([
    ['10.8.0.0/24', { address: '10.8.0.0', prefix: 24, family: 'ipv4' }],
    ['127.0.0.2', { address: '127.0.0.2', prefix: 32, family: 'ipv4' }],
    ['fd00::/64', { address: 'fd00::', prefix: 64, family: 'ipv6' }],
  ])('%s', (text, parsed) => {
    expect(parseCidr(text)).toEqual(parsed);
  });

  it.each(['10.8.0.0/33', '10.8.0/24', 'fd00::/129', '10.8.0.0/24/1', '10.8.0.0/x', 'host.example'])(
    'refuses %s',
    (text) => {
      expect(parseCidr(text)).toBeUndefined();
    },
  );
});

describe('AddressSet', () => {
  const set = new AddressSet([parseCidr('10.8.0.0/24')!, parseCidr('fd00::/64')!]);

  it.each([
    ['10.8.0.7', true],
    ['::ffff:10.8.0.7', true],
    ['10.8.1.7', false],
    ['fd00::1', true],
    ['fd01::1', false],
    ['', false],
    ['not-an-ip', false],
  ])('%s -> %s, the same when asked again (memoised)', (address, inside) => {
    expect(set.has(address)).toBe(inside);
    expect(set.has(address)).toBe(inside);
  });

  it('stays correct past its memo limit', () => {
    for (let i = 0; i < 10_000; i++) {
      const address = i % 2 === 0 ? `10.8.0.${i & 255}` : `10.9.${(i >> 8) & 255}.${i & 255}`;
      expect(set.has(address)).toBe(i % 2 === 0);
    }
  });

  it('an empty set contains nothing', () => {
    expect(new AddressSet([]).has('10.8.0.7')).toBe(false);
  });
});
