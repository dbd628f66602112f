/**
 * @module Loading the CA's certificate and key from the data dir as node-forge objects, for signing.
 */
import { CaMissingError, FileError } from '../lib/errors.js';
import type { Issuer } from './build-certificate.js';
import { caExists, caPaths, readText } from './ca-files.js';
import { loadForge } from './forge.js';

/**
 * The CA certificate and key, parsed.
 * @throws CaMissingError when there is no CA; FileError when its files are unreadable or damaged.
 */
export function loadCa(dataDir: string): Issuer & { certPem: string } {
  if (!caExists(dataDir)) throw new CaMissingError(dataDir);
  const paths = caPaths(dataDir);
  const certPem = readText(paths.cert);
  try {
    return {
      cert: loadForge().pki.certificateFromPem(certPem),
      key: loadForge().pki.privateKeyFromPem(readText(paths.key)),
      certPem,
    };
  } catch (cause) {
    throw new FileError(`the CA files in ${paths.dir} are damaged: ${(cause as Error).message}`, { cause });
  }
}
