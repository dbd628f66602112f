/**
 * @module `ca init`: create (or with force, replace) the CA: key, self-signed certificate, first CRL.
 */
import { rmSync } from 'node:fs';
import { ConflictError } from '../lib/errors.js';
import { stageFiles } from '../lib/staged-files.js';
import type { Database } from '../store/database.js';
import { buildCertificate, caExtensions, certificateFacts, validityWindow } from './build-certificate.js';
import { caExists, caPaths, ensurePrivateDir } from './ca-files.js';
import { deleteAllCertificates, insertCertificate } from './certificate-store.js';
import { regenerateCrl } from './crl-store.js';
import { generateRsaKey, type RsaKey } from './keys.js';
import { CLOCK_SKEW_MS } from './rules.js';
import { randomSerialHex } from './serial.js';

/** 3072 bits: NIST's level for keys meant to outlive 2030, at a one-off generation cost of ~1 s. */
export const CA_KEY_BITS = 3072;

export interface InitCaOptions {
  commonName: string;
  days: number;
  /** Replace an existing CA: every certificate it issued stops verifying and leaves the inventory. */
  force: boolean;
  actor: string;
  crlDays: number;
  now?: number;
}

export interface InitCaResult {
  serial: string;
  certPem: string;
  notAfter: number;
  fingerprint256: string;
  /** How many certificates of a replaced CA were dropped from the inventory. */
  dropped: number;
}

/**
 * Creates the CA (RSA-3072 generated off the event loop), records it with kind 'ca', audits it and
 * issues the first CRL, all in one transaction that commits only after the files are in place.
 * @throws ConflictError when a CA exists and `force` is false.
 * @example await initCa(db, dataDir, { commonName: 'mailgate CA', days: 3650, force: false, actor, crlDays: 7 });
 */
export async function initCa(db: Database, dataDir: string, options: InitCaOptions): Promise<InitCaResult> {
  if (!options.force) assertNoCa(dataDir);
  const key = await generateRsaKey(CA_KEY_BITS);
  return createCa(db, dataDir, key, options);
}

/**
 * The synchronous part of initCa with a key generated beforehand, so callers that race (tls: auto in two
 * processes) can decide under the database's write lock.
 */
export function createCa(db: Database, dataDir: string, key: RsaKey, options: InitCaOptions): InitCaResult {
  const now = options.now ?? Date.now();
  const serial = randomSerialHex();
  const cert = buildCertificate({
    serialHex: serial,
    commonName: options.commonName,
    publicKey: key.publicKey,
    ...validityWindow(now, options.days, CLOCK_SKEW_MS),
    extensions: caExtensions(),
    issuer: undefined,
    selfKey: key.privateKey,
  });
  const facts = certificateFacts(cert);
  const paths = caPaths(dataDir);
  ensurePrivateDir(paths.dir);
  let staged: ReturnType<typeof stageFiles> | undefined;
  try {
    return db
      .transaction(() => {
        if (!options.force) assertNoCa(dataDir);
        const dropped = options.force ? deleteAllCertificates(db) : 0;
        insertCertificate(
          db,
          {
            serial,
            kind: 'ca',
            name: options.commonName,
            sans: [],
            ...facts,
            certPem: facts.pem,
            createdAt: now,
          },
          {
            actor: options.actor,
            action: 'ca.init',
            detail: { cn: options.commonName, notAfter: facts.notAfter, replaced: options.force, dropped },
          },
        );
        staged = stageFiles(
          [
            { path: paths.key, data: key.pem, mode: 0o600 },
            { path: paths.cert, data: facts.pem, mode: 0o644 },
          ],
          { overwrite: true },
        );
        staged.publish();
        regenerateCrl(db, dataDir, { crlDays: options.crlDays, now, ca: { cert, key: key.privateKey } });
        // The auto TLS certificate chains to the old CA; ensureServerCertificate reissues it.
        if (options.force)
          for (const file of [paths.serverCert, paths.serverKey]) rmSync(file, { force: true });
        return {
          serial,
          certPem: facts.pem,
          notAfter: facts.notAfter,
          fingerprint256: facts.fingerprint256,
          dropped,
        };
      })
      .immediate();
  } catch (error) {
    staged?.discard();
    throw error;
  }
}

function assertNoCa(dataDir: string): void {
  if (caExists(dataDir)) {
    throw new ConflictError(
      `a CA already exists in ${caPaths(dataDir).dir}; --force replaces it and invalidates every certificate it issued`,
    );
  }
}
