/**
 * @module WireGuard keys made with node:crypto X25519, encoded exactly as `wg genkey`, `wg pubkey` and `wg genpsk` do.
 */
import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';

/** A private/public key pair, each the standard base64 of 32 raw bytes (44 characters). */
export interface WireGuardKeyPair {
  privateKey: string;
  publicKey: string;
}

/** RFC 8410 PKCS#8 prefix for a raw X25519 private key: node:crypto imports raw keys only through a wrapper. */
const X25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
const KEY_PATTERN = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;

/**
 * A new private key: 32 random bytes clamped as RFC 7748 section 5 and `wg genkey` do, so the stored
 * text is byte-for-byte what wireguard-tools would have produced.
 * @example generatePrivateKey() // 'GDIG06i6dx7mywhNHOR1hhkIjpplGl/+cEcAZ2JtjW8='
 */
export function generatePrivateKey(): string {
  const key = randomBytes(32);
  key[0]! &= 248;
  key[31]! &= 127;
  key[31]! |= 64;
  return key.toString('base64');
}

/**
 * The public key of a private key, as `wg pubkey` prints it.
 * @throws TypeError when `privateKey` is not base64 of 32 bytes.
 */
export function publicKeyOf(privateKey: string): string {
  const raw = decodeKey(privateKey);
  const key = createPrivateKey({
    key: Buffer.concat([X25519_PKCS8_PREFIX, raw]),
    format: 'der',
    type: 'pkcs8',
  });
  const { x } = createPublicKey(key).export({ format: 'jwk' });
  return Buffer.from(x!, 'base64url').toString('base64');
}

/** A fresh key pair (`wg genkey | tee priv | wg pubkey`). */
export function generateKeyPair(): WireGuardKeyPair {
  const privateKey = generatePrivateKey();
  return { privateKey, publicKey: publicKeyOf(privateKey) };
}

/** A preshared key as `wg genpsk` makes it: 32 random bytes, no clamping (it is a symmetric key). */
export function generatePresharedKey(): string {
  return randomBytes(32).toString('base64');
}

/** True when `text` is the canonical base64 of exactly 32 bytes, the only form wg accepts. */
export function isWireGuardKey(text: string): boolean {
  return KEY_PATTERN.test(text);
}

function decodeKey(text: string): Buffer {
  if (!isWireGuardKey(text)) throw new TypeError('a WireGuard key is the base64 of 32 bytes (44 characters)');
  return Buffer.from(text, 'base64');
}
