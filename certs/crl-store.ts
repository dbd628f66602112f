/**
 * @module The current CRL: its row in SQLite, ca/crl.pem on disk, and regeneration when stale.
 */
import { existsSync } from 'node:fs';
import { writeFileAtomic } from '../lib/atomic-file.js';
import type { Database } from '../store/database.js';
import type { Issuer } from './build-certificate.js';
import { caPaths, ensurePrivateDir } from './ca-files.js';
import { revokedEntries, revokedSerials } from './certificate-store.js';
import { crlSerials, encodeCrl } from './crl-encode.js';
import { loadForge } from './forge.js';
import { loadCa } from './load-ca.js';
import { DAY_MS } from './rules.js';

export interface CrlState {
  pem: string;
  number: number;
  thisUpdate: number;
  nextUpdate: number;
}

export interface CrlOptions {
  /** Validity of a new CRL (nextUpdate - thisUpdate), config ca.crlDays. */
  crlDays: number;
  /** Clock; defaults to Date.now(). */
  now?: number;
  /** The CA, when the caller has it loaded already (ca init). */
  ca?: Issuer;
}

interface CrlRow {
  number: number;
  this_update: number;
  next_update: number;
  pem: string;
  /** JSON array of the serials the CRL lists; null for rows written before schema version 2. */
  serials: string | null;
}

/**
 * Issues the next CRL (number + 1) from the revoked certificates in the store, saves its row and writes
 * ca/crl.pem atomically. Call inside the transaction of the change that made it necessary, so that the
 * row, the revocation and the file agree; a failed file write rolls the change back.
 * @throws CaMissingError without a CA; FileError when ca/crl.pem cannot be written.
 */
export function regenerateCrl(db: Database, dataDir: string, options: CrlOptions): CrlState {
  const now = options.now ?? Date.now();
  const ca = options.ca ?? loadCa(dataDir);
  const previous = readRow(db);
  const state = {
    number: (previous?.number ?? 0) + 1,
    thisUpdate: now,
    nextUpdate: now + options.crlDays * DAY_MS,
  };
  const entries = revokedEntries(db);
  const { pem } = encodeCrl({ caCert: ca.cert, caKey: ca.key, ...state, entries });
  db.prepare(
    `INSERT INTO crl (id, number, this_update, next_update, pem, serials) VALUES (1, ?, ?, ?, ?, ?)
     ON CONFLICT (id) DO UPDATE SET number = excluded.number, this_update = excluded.this_update,
       next_update = excluded.next_update, pem = excluded.pem, serials = excluded.serials`,
  ).run(
    state.number,
    state.thisUpdate,
    state.nextUpdate,
    pem,
    JSON.stringify(entries.map((e) => e.serialHex)),
  );
  const paths = caPaths(dataDir);
  ensurePrivateDir(paths.dir);
  writeFileAtomic(paths.crl, pem, { mode: 0o644 });
  return { pem, ...state };
}

/**
 * The current CRL, regenerated first when there is none, when it has passed half its validity, or when
 * the revoked set in the store differs from its entries. Never returns an expired CRL
 * (docs/security.md rule 4).
 * Safe against concurrent callers: the decision is re-checked under the write lock.
 * @throws CaMissingError without a CA.
 * @example const { pem, nextUpdate } = ensureFreshCrl(db, dataDir, { crlDays: 7 });
 */
export function ensureFreshCrl(
  db: Database,
  dataDir: string,
  options: { now?: number; crlDays: number },
): { pem: string; nextUpdate: number; number: number } {
  const now = options.now ?? Date.now();
  let row = readRow(db);
  if (!row || isStale(db, row, now)) {
    row = db
      .transaction(() => {
        const current = readRow(db);
        if (current && !isStale(db, current, now)) return current;
        regenerateCrl(db, dataDir, { crlDays: options.crlDays, now });
        return readRow(db)!;
      })
      .immediate();
  } else if (!existsSync(caPaths(dataDir).crl)) {
    writeFileAtomic(caPaths(dataDir).crl, row.pem, { mode: 0o644 });
  }
  return { pem: row.pem, nextUpdate: row.next_update, number: row.number };
}

function readRow(db: Database): CrlRow | undefined {
  return db.prepare('SELECT number, this_update, next_update, pem, serials FROM crl WHERE id = 1').get() as
    | CrlRow
    | undefined;
}

function isStale(db: Database, row: CrlRow, now: number): boolean {
  const halfLife = row.this_update + (row.next_update - row.this_update) / 2;
  if (now >= halfLife || now < row.this_update - DAY_MS) return true;
  const listed = row.serials === null ? serialsOf(row.pem) : new Set<string>(JSON.parse(row.serials));
  const revoked = revokedSerials(db);
  return listed.size !== revoked.size || [...revoked].some((serial) => !listed.has(serial));
}

/** The last parsed CRL: callers poll often, the CRL changes rarely. */
let parsed: { pem: string; serials: Set<string> } | undefined;

function serialsOf(pem: string): Set<string> {
  if (parsed?.pem !== pem) {
    const der = Buffer.from(loadForge().pem.decode(pem)[0]!.body, 'binary');
    parsed = { pem, serials: new Set(crlSerials(der)) };
  }
  return parsed.serials;
}
