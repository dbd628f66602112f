import { describe, expect, it } from 'vitest';
import { hstsHeader, TLS_PROFILES } from '../../../gateway/tls-profile.js';

describe('TLS_PROFILES', () => {
  it('intermediate: TLS 1.2+ with only ECDHE + AEAD suites besides the TLS 1.3 ones', () => {
    const { minVersion, ciphers } = TLS_PROFILES.intermediate;
    expect(minVersion).toBe('TLSv1.2');
    for (const suite of String(ciphers).split(':'))
      expect(suite).toMatch(
        /^(TLS_(AES_(128|256)_GCM_SHA(256|384)|CHACHA20_POLY1305_SHA256)|ECDHE-(ECDSA|RSA)-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305))$/,
      );
  });

  it('modern: TLS 1.3 only', () => {
    expect(TLS_PROFILES.modern.minVersion).toBe('TLSv1.3');
    expect(String(TLS_PROFILES.modern.ciphers)).not.toMatch(/ECDHE/);
  });
});

describe('hstsHeader', () => {
  it.each([
    [undefined, undefined],
    [{ maxAge: 31_536_000, includeSubDomains: false, preload: false }, 'max-age=31536000'],
    [{ maxAge: 600, includeSubDomains: true, preload: false }, 'max-age=600; includeSubDomains'],
    [
      { maxAge: 63_072_000, includeSubDomains: true, preload: true },
      'max-age=63072000; includeSubDomains; preload',
    ],
    [{ maxAge: 0, includeSubDomains: false, preload: false }, 'max-age=0'],
  ])('%j -> %s', (hsts, value) => {
    expect(hstsHeader(hsts)).toBe(value);
  });
});
