import { describe, expect, it } from 'vitest';
import {
  generateKeyPair,
  generatePresharedKey,
  generatePrivateKey,
  isWireGuardKey,
  publicKeyOf,
} from '../../../wireguard/keys.js';

describe('WireGuard keys', () => {
  it('encodes private, public and preshared keys as 44-character base64 of 32 bytes', () => {
    const { privateKey, publicKey } = generateKeyPair();
    for (const key of [privateKey, publicKey, generatePresharedKey()]) {
      expect(key).toMatch(/^[A-Za-z0-9+/]{43}=$/);
      expect(Buffer.from(key, 'base64')).toHaveLength(32);
      expect(isWireGuardKey(key)).toBe(true);
    }
  });

  it('clamps private keys as wg genkey does', () => {
    for (let i = 0; i < 50; i++) {
      const raw = Buffer.from(generatePrivateKey(), 'base64');
      expect(raw[0]! & 7).toBe(0);
      expect(raw[31]! & 0x80).toBe(0);
      expect(raw[31]! & 0x40).toBe(0x40);
    }
  });

  it('derives the RFC 7748 section 6.1 public key from its private key', () => {
    const alicePrivate = Buffer.from(
      '77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a',
      'hex',
    ).toString('base64');
    const alicePublic = Buffer.from(
      '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a',
      'hex',
    ).toString('base64');
    expect(publicKeyOf(alicePrivate)).toBe(alicePublic);
  });

  it('makes a different preshared key each time', () => {
    expect(generatePresharedKey()).not.toBe(generatePresharedKey());
  });

  it('rejects text that is not a canonical 32-byte key', () => {
    for (const bad of ['', 'abc', `${'A'.repeat(43)}`, `${'A'.repeat(42)}B=`, `${'A'.repeat(44)}=`]) {
      expect(isWireGuardKey(bad)).toBe(false);
    }
    expect(() => publicKeyOf('not a key')).toThrow(TypeError);
  });
});
