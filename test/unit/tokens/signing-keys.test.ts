import { beforeEach, describe, expect, it } from 'vitest';
import { readAudit } from '../../../store/audit.js';
import type { Database } from '../../../store/database.js';
import {
  ensureSigningKey,
  loadVerificationKeys,
  publicJwks,
  rotateSigningKey,
} from '../../../tokens/signing-keys.js';
import { KEY_ID } from '../../../tokens/token-format.js';
import { tempDatabase } from '../../helpers/temp-store.js';

let db: Database;

beforeEach(() => {
  ({ db } = tempDatabase('mailgate-keys-'));
});

describe('signing keys', () => {
  it('creates the first key lazily, once, and audits it', async () => {
    expect(publicJwks(db)).toEqual({ keys: [] });
    const first = await ensureSigningKey(db, 'cli:test');
    const again = await ensureSigningKey(db);
    expect(again.kid).toBe(first.kid);
    expect(first.kid).toMatch(KEY_ID);
    expect(first.privateKey.asymmetricKeyType).toBe('ed25519');
    expect(readAudit(db, 0).map((e) => [e.action, e.target, e.actor])).toEqual([
      ['keys.create', first.kid, 'cli:test'],
    ]);
  });

  it('ends with one active key when two callers race to create it', async () => {
    const [a, b] = await Promise.all([ensureSigningKey(db), ensureSigningKey(db)]);
    expect(a.kid).toBe(b.kid);
    expect(db.prepare('SELECT count(*) AS n FROM signing_keys').get()).toEqual({ n: 1 });
  });

  it('rotates: a new active key, the old one kept for verification, audited', async () => {
    const first = await ensureSigningKey(db);
    const { kid, previousKid } = await rotateSigningKey(db, 'cli:test');
    expect(previousKid).toBe(first.kid);
    expect((await ensureSigningKey(db)).kid).toBe(kid);
    expect(db.prepare('SELECT kid FROM signing_keys WHERE active = 1').all()).toEqual([{ kid }]);
    expect([...loadVerificationKeys(db).keys()].sort()).toEqual([first.kid, kid].sort());
    expect(readAudit(db, 0).at(-1)).toMatchObject({
      action: 'keys.rotate',
      target: kid,
      detail: { previousKid },
    });
  });

  it('publishes only public parts of every key, newest first', async () => {
    const first = await ensureSigningKey(db);
    const { kid } = await rotateSigningKey(db, 'cli:test');
    const { keys } = publicJwks(db);
    expect(keys.map((k) => k.kid)).toEqual([kid, first.kid]);
    for (const key of keys) {
      expect(Object.keys(key).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x']);
      expect(key).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' });
    }
    expect(JSON.stringify(keys)).not.toContain('"d"');
  });

  it('reuses KeyObjects already built when reloading', async () => {
    await ensureSigningKey(db);
    const first = loadVerificationKeys(db);
    const second = loadVerificationKeys(db, first);
    expect([...second.values()][0]).toBe([...first.values()][0]);
  });
});
