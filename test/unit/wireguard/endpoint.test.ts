import { describe, expect, it } from 'vitest';
import { formatEndpoint, parseEndpoint, parseIpAddress } from '../../../wireguard/endpoint.js';
import { thrownBy } from '../../helpers/thrown.js';

describe('parseEndpoint', () => {
  it.each([
    ['vpn.example.com:51820', { host: 'vpn.example.com', port: 51820 }],
    ['203.0.113.7:1', { host: '203.0.113.7', port: 1 }],
    ['[2001:db8::7]:65535', { host: '2001:db8::7', port: 65535 }],
    ['localhost:51820', { host: 'localhost', port: 51820 }],
  ])('accepts %s', (text, expected) => {
    expect(parseEndpoint(text)).toEqual(expected);
  });

  it.each([
    'vpn.example.com',
    'vpn.example.com:',
    ':51820',
    'vpn.example.com:0',
    'vpn.example.com:65536',
    'vpn.example.com:99999',
    '2001:db8::7:51820',
    '[not-ipv6]:51820',
    '300.1.1.1:51820',
    'bad_host.example.com:51820',
    '-bad.example.com:51820',
    'vpn example.com:51820',
  ])('rejects %s with a usage error naming --endpoint', (text) => {
    const error = thrownBy(() => parseEndpoint(text));
    expect(error.code).toBe('ERR_USAGE');
    expect(error.message).toMatch(/^--endpoint/);
  });

  it('brackets IPv6 hosts when formatting', () => {
    expect(formatEndpoint({ host: '2001:db8::7', port: 51820 })).toBe('[2001:db8::7]:51820');
    expect(formatEndpoint({ host: 'vpn.example.com', port: 51820 })).toBe('vpn.example.com:51820');
  });
});

describe('parseIpAddress', () => {
  it('accepts IPv4 and IPv6 and names the flag otherwise', () => {
    expect(parseIpAddress('10.8.0.1', '--dns')).toBe('10.8.0.1');
    expect(parseIpAddress('2001:db8::53', '--dns')).toBe('2001:db8::53');
    expect(() => parseIpAddress('dns.example.com', '--dns')).toThrow(
      "--dns must be an IP address, got 'dns.example.com'",
    );
  });
});
