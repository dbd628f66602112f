/**
 * @module PKCS#12 bundles for browsers and OS key stores. Pure.
 */
import type Forge from 'node-forge';
import { UsageError } from '../lib/errors.js';
import { loadForge } from './forge.js';

export type Pkcs12Algorithm = '3des' | 'aes256';
export const PKCS12_ALGORITHMS: readonly Pkcs12Algorithm[] = ['3des', 'aes256'];

export interface Pkcs12Input {
  key: Forge.pki.rsa.PrivateKey;
  cert: Forge.pki.Certificate;
  caCert: Forge.pki.Certificate;
  password: string;
  /** '3des' by default: macOS, older Windows and Android refuse AES-encrypted PKCS#12. */
  algorithm: Pkcs12Algorithm;
  friendlyName: string;
}

/**
 * Bundles the key, the certificate and the CA (so the importer learns the chain) under a password.
 * AES uses PBES2 with PBKDF2-HMAC-SHA256, as OpenSSL 3 does by default.
 * @example const der = buildPkcs12({ key, cert, caCert, password, algorithm: '3des', friendlyName: 'alice' });
 */
export function buildPkcs12(input: Pkcs12Input): Buffer {
  checkPkcs12Password(input.password);
  const asn1 = loadForge().pkcs12.toPkcs12Asn1(input.key, [input.cert, input.caCert], input.password, {
    algorithm: input.algorithm,
    friendlyName: input.friendlyName,
    count: 2048,
    ...(input.algorithm === 'aes256' ? { prfAlgorithm: 'sha256' } : {}),
  } as Parameters<typeof Forge.pkcs12.toPkcs12Asn1>[3]);
  return Buffer.from(loadForge().asn1.toDer(asn1).getBytes(), 'binary');
}

/**
 * Passwords are limited to printable ASCII: PKCS#12 encodes them as BMPString for 3DES and the MAC but
 * as bytes for PBES2, and importers disagree about anything beyond ASCII.
 * @throws UsageError for an empty or non-ASCII password.
 */
export function checkPkcs12Password(password: string): string {
  if (!/^[\x20-\x7e]{1,1024}$/.test(password)) {
    throw new UsageError('the PKCS#12 password must be 1-1024 printable ASCII characters');
  }
  return password;
}

/** @throws UsageError for an algorithm other than 3des or aes256. */
export function checkPkcs12Algorithm(text: string): Pkcs12Algorithm {
  if (!(PKCS12_ALGORITHMS as readonly string[]).includes(text)) {
    throw new UsageError(
      `--p12-algorithm must be one of ${PKCS12_ALGORITHMS.join(', ')}, got ${JSON.stringify(text)}`,
    );
  }
  return text as Pkcs12Algorithm;
}
