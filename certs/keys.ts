/**
 * @module RSA key generation off the event loop (native OpenSSL), handed to node-forge for signing.
 */
import { generateKeyPair } from 'node:crypto';
import { promisify } from 'node:util';
import forge from 'node-forge';

const generateKeyPairAsync = promisify(generateKeyPair);

export interface RsaKey {
  privateKey: forge.pki.rsa.PrivateKey;
  publicKey: forge.pki.rsa.PublicKey;
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
  const privateKey = forge.pki.privateKeyFromPem(pem);
  const publicKey = forge.pki.setRsaPublicKey(privateKey.n, privateKey.e);
  return { privateKey, publicKey, pem };
}
