/**
 * @module Where the CA and the auto TLS certificate live in the data dir. Free of node-forge so that
 * read-only commands start fast.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CaMissingError, FileError } from '../lib/errors.js';

export interface CaPaths {
  dir: string;
  key: string;
  cert: string;
  crl: string;
  tlsDir: string;
  serverCert: string;
  serverKey: string;
}

/** The fixed layout: ca/ca.key.pem (0600), ca/ca.crt.pem, ca/crl.pem, tls/server.{crt,key}.pem. */
export function caPaths(dataDir: string): CaPaths {
  const dir = join(dataDir, 'ca');
  const tlsDir = join(dataDir, 'tls');
  return {
    dir,
    key: join(dir, 'ca.key.pem'),
    cert: join(dir, 'ca.crt.pem'),
    crl: join(dir, 'crl.pem'),
    tlsDir,
    serverCert: join(tlsDir, 'server.crt.pem'),
    serverKey: join(tlsDir, 'server.key.pem'),
  };
}

/**
 * The CA's and the auto certificate's files a backup saves beside the database: ca/ and tls/, without
 * ca/crl.pem, a copy of the database's crl row that the gateway and `mailgate ca crl` write back when it
 * is missing (read apart from the database snapshot, it could disagree with it).
 */
export function caBackupFiles(dataDir: string): { folders: string[]; derived: string[] } {
  const paths = caPaths(dataDir);
  return { folders: [paths.dir, paths.tlsDir], derived: [paths.crl] };
}

/** True when both the CA certificate and its key are present. */
export function caExists(dataDir: string): boolean {
  const paths = caPaths(dataDir);
  return existsSync(paths.cert) && existsSync(paths.key);
}

/** Creates a private (0700) folder inside the data dir. */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
}

/**
 * The CA certificate as PEM, e.g. to serve at /_mailgate/ca.pem.
 * @throws CaMissingError when there is no CA.
 */
export function readCaCertificatePem(dataDir: string): string {
  if (!caExists(dataDir)) throw new CaMissingError(dataDir);
  return readText(caPaths(dataDir).cert);
}

/** @throws FileError naming the path. */
export function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (cause) {
    throw new FileError(`cannot read ${path}: ${(cause as NodeJS.ErrnoException).code ?? cause}`, { cause });
  }
}
