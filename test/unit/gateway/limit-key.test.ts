import { isIP } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LimitKeys, limitKey } from '../../../gateway/limit-key.js';

/** RFC 5952 text of an IPv6 address from an independent serializer (WHATWG URL's). */
const urlCanonical = (address: string) => new URL(`http://[${address}]/`).hostname.slice(1, -1);

/** Eight 16-bit groups as an IPv6 address written out in full, each group padded to four digits. */
const padded = (groups: readonly number[]) => groups.map((g) => g.toString(16).padStart(4, '0')).join(':');

/** Whether the groups are an IPv4 client in IPv6 form (IPv4-mapped or NAT64), keyed as IPv4. */
const embedsIpv4 = (groups: readonly number[]) =>
  (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) ||
  (groups[0] === 0x64 && groups[1] === 0xff9b && groups.slice(2, 6).every((g) => g === 0));

const group = fc.integer({ min: 0, max: 0xffff });
/** Addresses with zero runs now and then, so that `::` compression is exercised. */
const groupsArb = fc.array(fc.oneof(group, fc.constant(0)), { minLength: 8, maxLength: 8 });

describe('limitKey', () => {
  it.each([
    // IPv4: as itself, whatever the prefix.
    ['192.0.2.1', 64, '192.0.2.1'],
    ['192.0.2.1', 128, '192.0.2.1'],
    // IPv6 masked to the prefix, written canonically.
    ['2001:db8:1:2:3:4:5:6', 64, '2001:db8:1:2::/64'],
    ['2001:db8:1:2:ffff:ffff:ffff:ffff', 64, '2001:db8:1:2::/64'],
    ['2001:db8:1:2:3:4:5:6', 48, '2001:db8:1::/48'],
    ['2001:db8:1:2:3:4:5:6', 56, '2001:db8:1::/56'],
    ['2001:db8:1:2ff:3:4:5:6', 56, '2001:db8:1:200::/56'],
    ['2001:db8:ffff:2:3:4:5:6', 33, '2001:db8:8000::/33'],
    ['2001:db8:1:2:3:4:5:6', 128, '2001:db8:1:2:3:4:5:6'],
    ['2001:db8:0:0:1:0:0:1', 128, '2001:db8::1:0:0:1'],
    ['1:0:0:2:0:0:0:3', 128, '1:0:0:2::3'],
    ['1:0:2:0:3:0:4:0', 128, '1:0:2:0:3:0:4:0'],
    // One client, however it is written: case, zero padding, compression, a zone id.
    ['2001:db8::1', 64, '2001:db8::/64'],
    ['2001:DB8:0:0::1', 64, '2001:db8::/64'],
    ['2001:0db8::0001', 64, '2001:db8::/64'],
    ['2001:0DB8:0000:0000:0000:0000:0000:0001', 64, '2001:db8::/64'],
    ['2001:db8::1%eth0', 64, '2001:db8::/64'],
    ['2001:db8::1%25eth1', 128, '2001:db8::1'],
    ['fe80::1%lo', 64, 'fe80::/64'],
    ['FE80::ABCD%eth0', 128, 'fe80::abcd'],
    // IPv4 clients in IPv6 form get the IPv4 key: never a second key for one IPv4 client.
    ['::ffff:192.0.2.1', 64, '192.0.2.1'],
    ['::FFFF:192.0.2.1', 128, '192.0.2.1'],
    ['::ffff:c000:201', 64, '192.0.2.1'],
    ['0:0:0:0:0:ffff:192.0.2.1', 64, '192.0.2.1'],
    ['::ffff:1.2.3.4', 32, '1.2.3.4'],
    ['64:ff9b::1.2.3.4', 64, '1.2.3.4'],
    ['64:ff9b::102:304', 64, '1.2.3.4'],
    // Not IPv4 clients: the deprecated IPv4-compatible form and an embedding outside the NAT64 /96.
    ['::1.2.3.4', 128, '::102:304'],
    ['64:ff9b:1::1.2.3.4', 64, '64:ff9b:1::/64'],
    ['::ffff:0:1.2.3.4', 128, '::ffff:0:102:304'],
    // The unspecified and loopback addresses.
    ['::', 64, '::/64'],
    ['::', 128, '::'],
    ['::1', 64, '::/64'],
    ['::1', 128, '::1'],
    ['1::', 128, '1::'],
  ])('%s /%i -> %s', (address, prefix, expected) => {
    expect(limitKey(address, prefix)).toBe(expected);
  });

  it.each([
    '',
    ':',
    ':::',
    '1:',
    ':1',
    '1:::2',
    '1::2::3',
    '12345::1',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7',
    '1:2:3:4:5:6:7::8',
    'g::1',
    '::ffff:1.2.3',
    '::ffff:1.2.3.4.5',
    '::ffff:1.2.3.256',
    '::ffff:1.2.3.4:1',
    '1.2.3.4::',
    '::1.2.3.04x',
    // Not addresses to net.isIP or URL: a leading zero (octal to inet_aton), an empty or spaced zone id.
    '::ffff:010.0.0.1',
    '::ffff:10.0.0.01',
    '::1%',
    '::1%eth 0',
    '[2001:db8::1]',
    '2001:db8::1/64',
    '%eth0',
    'garbage:with:colons',
    '💥:💥',
    '\u0000:\u0000',
  ])('garbage %j is its own key and never throws', (text) => {
    expect(limitKey(text, 64)).toBe(text);
  });

  it('any two addresses of one /64 have one key, and addresses of two /64s two keys', () => {
    fc.assert(
      fc.property(groupsArb, groupsArb, (a, b) => {
        fc.pre(!embedsIpv4(a) && !embedsIpv4(b));
        const sameNetwork = [...a.slice(0, 4), ...b.slice(4)];
        fc.pre(!embedsIpv4(sameNetwork));
        expect(limitKey(padded(sameNetwork), 64)).toBe(limitKey(urlCanonical(padded(a)), 64));
        const differ = a.slice(0, 4).some((g, i) => g !== b[i]);
        expect(limitKey(padded(a), 64) === limitKey(padded(b), 64)).toBe(!differ);
      }),
      { numRuns: 2_000 },
    );
  });

  it('keys an address the way RFC 5952 writes it, however it was written (checked against WHATWG URL)', () => {
    fc.assert(
      fc.property(fc.ipV6(), fc.boolean(), (address, upper) => {
        const written = upper ? address.toUpperCase() : address;
        const expected = urlCanonical(address);
        const key = limitKey(written, 128);
        // Only IPv4-mapped and NAT64 addresses come out as IPv4.
        if (key.includes('.')) {
          expect(isIP(key)).toBe(4);
          expect(expected.startsWith('::ffff:') || expected.startsWith('64:ff9b::')).toBe(true);
        } else expect(key).toBe(expected);
        // Keys are fixed points: keying a key's address again gives the key.
        expect(limitKey(key, 128)).toBe(key);
      }),
      { numRuns: 5_000 },
    );
  });

  it('reads as an address exactly what net.isIP calls IPv6, keyed as WHATWG URL writes it (mutated addresses)', () => {
    // Edits that make an address of another spelling, or text that only looks like one.
    const pieces = [...'.:0fFg% ', '', '::', '00', '01', '256', '1.2.3.4', '%eth0', '%a%b', '%a b'];
    const insert = fc.constantFrom(...pieces);
    const edit = fc.tuple(fc.nat(), insert, fc.boolean());
    fc.assert(
      fc.property(fc.ipV6(), fc.array(edit, { maxLength: 3 }), (address, edits) => {
        let text = address;
        for (const [at, inserted, replaces] of edits) {
          const i = at % (text.length + 1);
          text = text.slice(0, i) + inserted + text.slice(i + (replaces ? 1 : 0));
        }
        const key = limitKey(text, 128);
        if (isIP(text) !== 6) {
          expect(key).toBe(text);
          return;
        }
        const expected = urlCanonical(text.split('%')[0]!);
        if (key.includes('.'))
          expect(expected.startsWith('::ffff:') || expected.startsWith('64:ff9b::')).toBe(true);
        else expect(key).toBe(expected);
      }),
      { numRuns: 5_000 },
    );
  });

  it('never throws on any text', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF:.%/ x') }), (text) => {
        expect(typeof limitKey(text, 64)).toBe('string');
      }),
      { numRuns: 5_000 },
    );
  });
});

describe('LimitKeys', () => {
  it('answers as limitKey with its prefix, and IPv4 as itself', () => {
    const keys = new LimitKeys(56);
    expect(keys.of('203.0.113.9')).toBe('203.0.113.9');
    expect(keys.of('2001:db8:1:2ff::9')).toBe('2001:db8:1:200::/56');
    // Remembered: the same text again, the same key.
    expect(keys.of('2001:db8:1:2ff::9')).toBe('2001:db8:1:200::/56');
    expect(keys.of('::ffff:203.0.113.9')).toBe('203.0.113.9');
  });

  it('stays correct past its memo over a flood of distinct addresses', () => {
    const keys = new LimitKeys(64);
    for (let i = 0; i < 20_000; i++) {
      const network = `2001:db8:${(i & 7) + 1}:`;
      expect(keys.of(`${network}:${i.toString(16)}`)).toBe(`${network}:/64`);
    }
  });
});
