import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureFreshCrl } from '../../../certs/crl-store.js';
import { issueClientCertificate } from '../../../certs/issue-client.js';
import { createTestCa, type TestCa, tool } from '../../helpers/ca-fixture.js';
import { tempDatabase } from '../../helpers/temp-store.js';

const DAY = 86_400_000;
let t: TestCa;
const row = () =>
  t.db.prepare('SELECT number, this_update, next_update FROM crl').get() as {
    number: number;
    this_update: number;
    next_update: number;
  };

beforeAll(async () => {
  t = await createTestCa('mailgate-crlstore-');
});
afterAll(() => t.cleanup());

describe('ensureFreshCrl', () => {
  it('returns the CRL written by ca init while it is fresh, without regenerating', () => {
    const initial = row();
    expect(initial.number).toBe(1);
    const crl = ensureFreshCrl(t.db, t.dataDir, { crlDays: 7, now: initial.this_update + DAY });
    expect(crl).toEqual({
      pem: readFileSync(t.paths.crl, 'utf8'),
      nextUpdate: initial.next_update,
      number: 1,
    });
    expect(tool('openssl', ['crl', '-in', t.paths.crl, '-CAfile', t.paths.cert, '-noout']).out).toContain(
      'verify OK',
    );
  });

  it('regenerates past half its validity with the next number', () => {
    const { this_update, next_update } = row();
    const now = this_update + (next_update - this_update) / 2 + 1;
    const crl = ensureFreshCrl(t.db, t.dataDir, { crlDays: 7, now });
    expect(crl.number).toBe(2);
    expect(crl.nextUpdate).toBe(now + 7 * DAY);
    expect(readFileSync(t.paths.crl, 'utf8')).toBe(crl.pem);
  });

  it('never returns an expired CRL', () => {
    const now = row().next_update + 30 * DAY;
    const crl = ensureFreshCrl(t.db, t.dataDir, { crlDays: 7, now });
    expect(crl.nextUpdate).toBeGreaterThan(now);
    expect(crl.number).toBe(3);
  });

  it('regenerates when the revoked set changed behind its back, and rewrites a missing file', async () => {
    const issued = await issueClientCertificate(t.db, t.dataDir, {
      name: 'mallory',
      role: 'viewer',
      days: 5,
      actor: 'test',
    });
    const { this_update, number } = row();
    const now = this_update + 1000;
    t.db
      .prepare("UPDATE certificates SET revoked_at = ?, revocation_reason = 'keyCompromise' WHERE serial = ?")
      .run(now, issued.serial);
    const crl = ensureFreshCrl(t.db, t.dataDir, { crlDays: 7, now });
    expect(crl.number).toBe(number + 1);
    expect(tool('openssl', ['crl', '-in', t.paths.crl, '-noout', '-text']).stdout).toContain(
      issued.serial.toUpperCase(),
    );
    rmSync(t.paths.crl);
    expect(ensureFreshCrl(t.db, t.dataDir, { crlDays: 7, now: now + 1000 }).number).toBe(number + 1);
    expect(readFileSync(t.paths.crl, 'utf8')).toBe(crl.pem);
  });

  it('creates the first CRL when the row is missing', () => {
    t.db.prepare('DELETE FROM crl').run();
    const crl = ensureFreshCrl(t.db, t.dataDir, { crlDays: 3 });
    expect(crl.number).toBe(1);
    expect(crl.nextUpdate - Date.now()).toBeGreaterThan(3 * DAY - 60_000);
  });

  it('throws CaMissingError without a CA and writes nothing', () => {
    const { dataDir: dir, db } = tempDatabase('mailgate-noca-');
    expect(() => ensureFreshCrl(db, dir, { crlDays: 7 })).toThrow(
      expect.objectContaining({ code: 'ERR_CA_MISSING' }),
    );
    expect(db.prepare('SELECT count(*) FROM crl').pluck().get()).toBe(0);
    expect(existsSync(join(dir, 'ca'))).toBe(false);
  });
});
