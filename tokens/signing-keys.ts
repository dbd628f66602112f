/**
 * @module Ed25519 signing keys in SQLite: one active key signs, every stored key verifies.
 */
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import type { JWK } from 'jose';
import { appendAudit } from '../store/audit.js';
import type { Database } from '../store/database.js';
import { newKeyId, TOKEN_ALG } from './token-format.js';

/** The active key, ready to sign. */
export interface ActiveSigningKey {
  kid: string;
  privateKey: KeyObject;
}

/** A public key as published at /.well-known/jwks.json (RFC 7517 §4, RFC 8037 §2). */
export interface PublicJwk {
  kty: 'OKP';
  crv: 'Ed25519';
  x: string;
  kid: string;
  alg: typeof TOKEN_ALG;
  use: 'sig';
}

interface KeyRow {
  kid: string;
  public_jwk: string;
  private_jwk: string;
  created_at: number;
}

async function generateKey(): Promise<{ kid: string; publicJwk: JWK; privateJwk: JWK }> {
  // Imported here: the gateway only reads stored keys and never holds jose's key generation at idle.
  const { exportJWK, generateKeyPair } = await import('jose');
  const { publicKey, privateKey } = await generateKeyPair(TOKEN_ALG, { crv: 'Ed25519', extractable: true });
  return { kid: newKeyId(), publicJwk: await exportJWK(publicKey), privateJwk: await exportJWK(privateKey) };
}

function insertKey(db: Database, key: Awaited<ReturnType<typeof generateKey>>, at: number) {
  db.prepare(
    'INSERT INTO signing_keys (kid, alg, public_jwk, private_jwk, created_at, active) VALUES (?, ?, ?, ?, ?, 1)',
  ).run(key.kid, TOKEN_ALG, JSON.stringify(key.publicJwk), JSON.stringify(key.privateJwk), at);
}

function activeRow(db: Database): KeyRow | undefined {
  return db
    .prepare('SELECT kid, public_jwk, private_jwk, created_at FROM signing_keys WHERE active = 1')
    .get() as KeyRow | undefined;
}

/**
 * Returns the active signing key, creating (and auditing) the first one when there is none.
 * Two processes racing here end with one key: the insert re-checks inside an IMMEDIATE transaction.
 * @example const { kid, privateKey } = await ensureSigningKey(db, ctx.actor);
 */
export async function ensureSigningKey(db: Database, actor = 'mailgate'): Promise<ActiveSigningKey> {
  let row = activeRow(db);
  if (!row) {
    const fresh = await generateKey();
    row = db
      .transaction(() => {
        const existing = activeRow(db);
        if (existing) return existing;
        insertKey(db, fresh, Date.now());
        appendAudit(db, { actor, action: 'keys.create', target: fresh.kid });
        return activeRow(db)!;
      })
      .immediate();
  }
  return { kid: row.kid, privateKey: createPrivateKey({ key: JSON.parse(row.private_jwk), format: 'jwk' }) };
}

/**
 * Makes a new active key; older keys stay (inactive) so the tokens they signed keep verifying until expiry.
 * @returns the new kid and the one it replaced (undefined when there was none).
 */
export async function rotateSigningKey(
  db: Database,
  actor: string,
): Promise<{ kid: string; previousKid: string | undefined }> {
  const fresh = await generateKey();
  return db
    .transaction(() => {
      const previousKid = activeRow(db)?.kid;
      db.prepare('UPDATE signing_keys SET active = 0 WHERE active = 1').run();
      insertKey(db, fresh, Date.now());
      appendAudit(db, { actor, action: 'keys.rotate', target: fresh.kid, detail: { previousKid } });
      return { kid: fresh.kid, previousKid };
    })
    .immediate();
}

/** Every stored key's public half, newest first; private members are never copied out. */
export function publicJwks(db: Database): { keys: PublicJwk[] } {
  const rows = db
    .prepare('SELECT kid, public_jwk FROM signing_keys ORDER BY created_at DESC, rowid DESC')
    .all() as Array<Pick<KeyRow, 'kid' | 'public_jwk'>>;
  return {
    keys: rows.map((row) => {
      const { x } = JSON.parse(row.public_jwk) as JWK;
      return { kty: 'OKP', crv: 'Ed25519', x: x!, kid: row.kid, alg: TOKEN_ALG, use: 'sig' };
    }),
  };
}

/** Every stored key id with its public KeyObject, for verification. */
export function loadVerificationKeys(db: Database, known: ReadonlyMap<string, KeyObject> = new Map()) {
  const rows = db.prepare('SELECT kid, public_jwk FROM signing_keys').all() as Array<
    Pick<KeyRow, 'kid' | 'public_jwk'>
  >;
  // Keys never change once written, so KeyObjects already built are reused across refreshes.
  return new Map(
    rows.map((row): [string, KeyObject] => [
      row.kid,
      known.get(row.kid) ?? createPublicKey({ key: JSON.parse(row.public_jwk), format: 'jwk' }),
    ]),
  );
}
