/**
 * @module RSA key generation off the event loop (native OpenSSL), handed to node-forge for signing.
 */
import { generateKeyPair } from 'node:crypto';
import { promisify } from 'node:util';
import type Forge from 'node-forge';
import { loadForge } from './forge.js';

const generateKeyPairAsync = promisify(generateKeyPair);

export interface RsaKey {
  privateKey: Forge.pki.rsa.PrivateKey;
  publicKey: Forge.pki.rsa.PublicKey;
  /** PKCS#8 PEM, as written to disk. */
  pem: string;
}

/**
 * Generates an RSA key in OpenSSL's thread pool; forge's own generator is pure JS and far slower.
 * @example const key = await generateRsaKey(2048);
 */
export async function generateRsaKey(bits: 2048 | 3072 | 4096): Promise<RsaKey> {
  const { privateKey: pem } = await generateKeyPairAsync('rsa', {
    modulusLength: bits,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return rsaKeyFromPem(pem);
}

/** Parses a PEM private key (PKCS#1 or PKCS#8) into forge's form. */
export function rsaKeyFromPem(pem: string): RsaKey {
  const privateKey = loadForge().pki.privateKeyFromPem(pem);
  const publicKey = loadForge().pki.setRsaPublicKey(privateKey.n, privateKey.e);
  return { privateKey, publicKey, pem };
}
