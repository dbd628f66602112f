import { describe, expect, it } from 'vitest';
import { AddressLimits, type AddressLimitsConfig } from '../../../gateway/address-limits.js';

const config: AddressLimitsConfig = {
  clientConnections: 2,
  clientRequestsPerMinute: 60,
  clientRequestBurst: 3,
  clientTableSize: 1_000,
  clientIpv6Prefix: 64,
};

describe('AddressLimits connections', () => {
  it('admits up to the cap per address and again once one closes', () => {
    const limits = new AddressLimits(config);
    expect([1, 2, 3].map(() => limits.openConnection('203.0.113.1'))).toEqual([true, true, false]);
    expect(limits.openConnection('203.0.113.2')).toBe(true);
    limits.closeConnection('203.0.113.1');
    expect(limits.openConnection('203.0.113.1')).toBe(true);
    expect(limits.refused.connections).toBe(1);
  });

  it('forgets an address when its last connection closes', () => {
    const limits = new AddressLimits(config);
    limits.openConnection('203.0.113.1');
    limits.openConnection('203.0.113.1');
    limits.closeConnection('203.0.113.1');
    limits.closeConnection('203.0.113.1');
    expect(limits.sizes.connections).toBe(0);
  });

  it('0 means no cap', () => {
    const limits = new AddressLimits({ ...config, clientConnections: 0 });
    for (let i = 0; i < 10_000; i++) expect(limits.openConnection('203.0.113.1')).toBe(true);
  });
});

describe('AddressLimits keys', () => {
  it('keys IPv6 addresses by limits.clientIpv6Prefix and IPv4 ones as themselves', () => {
    const limits = new AddressLimits({ ...config, clientIpv6Prefix: 48 });
    expect(limits.keys.of('2001:db8:1:ff::1')).toBe('2001:db8:1::/48');
    expect(limits.keys.of('::ffff:203.0.113.1')).toBe('203.0.113.1');
    const open = (address: string) => limits.openConnection(limits.keys.of(address));
    expect(['2001:db8:1:1::1', '2001:db8:1:2::2', '2001:db8:1:3::3'].map(open)).toEqual([true, true, false]);
    expect(open('2001:db8:2::1')).toBe(true);
  });
});

describe('AddressLimits requests', () => {
  it('allows the burst, then Retry-After until the sustained rate refills', () => {
    const limits = new AddressLimits(config);
    expect([0, 0, 0, 0].map((t) => limits.takeRequest('a', t))).toEqual([0, 0, 0, 1]);
    expect(limits.takeRequest('b', 0)).toBe(0);
    expect(limits.takeRequest('a', 999)).toBe(1);
    expect(limits.takeRequest('a', 1_000)).toBe(0);
    expect(limits.refused.requests).toBe(2);
  });

  it('Retry-After counts the seconds to the next request at a slow rate', () => {
    const limits = new AddressLimits({ ...config, clientRequestsPerMinute: 6, clientRequestBurst: 1 });
    expect(limits.takeRequest('a', 0)).toBe(0);
    expect(limits.takeRequest('a', 0)).toBe(10);
    expect(limits.takeRequest('a', 4_000)).toBe(6);
  });

  it('0 requests per minute means no limit and no table', () => {
    const limits = new AddressLimits({ ...config, clientRequestsPerMinute: 0 });
    for (let i = 0; i < 10_000; i++) expect(limits.takeRequest(`a${i % 7}`, 0)).toBe(0);
    expect(limits.sizes.buckets).toBe(0);
  });

  it('keeps the table within its size over a million distinct addresses, at one sweep per half table', () => {
    const limits = new AddressLimits(config);
    let now = 0;
    let largest = 0;
    for (let i = 0; i < 1_000_000; i++) {
      limits.takeRequest(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, now);
      if (i % 100 === 0) now++;
      largest = Math.max(largest, limits.sizes.buckets);
    }
    expect(largest).toBe(config.clientTableSize);
  });

  it('drops full buckets before busy ones, so a busy address keeps its count through a sweep', () => {
    const limits = new AddressLimits(config);
    for (let i = 0; i < 3; i++) limits.takeRequest('busy', 0);
    // Idle addresses whose buckets are full again by t = 10 s fill the rest of the table.
    for (let i = 1; i < config.clientTableSize; i++) limits.takeRequest(`idle${i}`, 0);
    // A new address at 2 s triggers the sweep: the idle buckets (one request taken, refilled after 1 s) go.
    expect(limits.takeRequest('new', 2_000)).toBe(0);
    expect(limits.sizes.buckets).toBe(2);
    // 'busy' took 3 at 0 and regained 2 by 2 s: two more pass, the third is refused.
    expect([2_000, 2_000, 2_000].map((t) => limits.takeRequest('busy', t))).toEqual([0, 0, 1]);
  });
});
