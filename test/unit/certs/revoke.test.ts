import { mkdirSync, readdirSync, readFileSync, renameSync, rmdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listCertificates, revokedSerials } from '../../../certs/certificate-store.js';
import { issueClientCertificate } from '../../../certs/issue-client.js';
import { revokeCertificate } from '../../../certs/revoke.js';
import { auditOf, createTestCa, type TestCa, tool } from '../../helpers/ca-fixture.js';

let t: TestCa;
const issue = (name: string) =>
  issueClientCertificate(t.db, t.dataDir, { name, role: 'admin', days: 30, actor: 'test' });
const state = () => ({
  certs: JSON.stringify(t.db.prepare('SELECT serial, revoked_at, revocation_reason FROM certificates').all()),
  audit: t.db.prepare('SELECT count(*) FROM audit').pluck().get(),
  crl: readFileSync(t.paths.crl, 'utf8'),
  crlNumber: t.db.prepare('SELECT number FROM crl').pluck().get(),
});

beforeAll(async () => {
  t = await createTestCa('mailgate-revoke-');
});
afterAll(() => t.cleanup());

describe('revokeCertificate', () => {
  it('revokes by serial (any case, with colons), audits and writes a CRL listing it with the reason', async () => {
    const a = await issue('frank');
    const before = state();
    const typed = a.serial.toUpperCase().match(/../g)!.join(':');
    const { certificate, crl } = revokeCertificate(t.db, t.dataDir, typed, 'keyCompromise', 'cli:me@host', {
      crlDays: 7,
    });
    expect(certificate).toMatchObject({
      serial: a.serial,
      status: 'revoked',
      revocationReason: 'keyCompromise',
    });
    expect(crl.number).toBe((before.crlNumber as number) + 1);
    expect(readFileSync(t.paths.crl, 'utf8')).toBe(crl.pem);
    expect(revokedSerials(t.db).has(a.serial)).toBe(true);
    const text = tool('openssl', ['crl', '-in', t.paths.crl, '-noout', '-text']).stdout;
    expect(text).toContain(`Serial Number: ${a.serial.toUpperCase()}`);
    expect(text).toMatch(/CRL Reason Code:\s+Key Compromise/);
    const audit = auditOf(t.db, 'ca.revoke', a.serial);
    expect(audit?.actor).toBe('cli:me@host');
    expect(audit?.detail).toEqual({ kind: 'client', name: 'frank', reason: 'keyCompromise' });
  });

  it('revokes by a name that matches exactly one valid certificate', async () => {
    const g = await issue('grace');
    revokeCertificate(t.db, t.dataDir, 'grace', 'superseded', 'test', { crlDays: 7 });
    expect(listCertificates(t.db, { revoked: true }).map((c) => c.serial)).toContain(g.serial);
  });

  it('refuses an ambiguous name, listing the candidates and changing nothing', async () => {
    const [h1, h2] = [await issue('heidi'), await issue('heidi')];
    const before = state();
    expect(() => revokeCertificate(t.db, t.dataDir, 'heidi', 'unspecified', 'test', { crlDays: 7 })).toThrow(
      expect.objectContaining({
        code: 'ERR_CONFLICT',
        message: expect.stringMatching(new RegExp(`${h1.serial}.*${h2.serial}`)),
      }),
    );
    expect(state()).toEqual(before);
  });

  it('says so when the certificate is already revoked, and changes nothing', async () => {
    const i = await issue('ivan');
    revokeCertificate(t.db, t.dataDir, i.serial, 'unspecified', 'test', { crlDays: 7 });
    const before = state();
    for (const target of [i.serial, 'ivan']) {
      expect(() =>
        revokeCertificate(t.db, t.dataDir, target, 'keyCompromise', 'test', { crlDays: 7 }),
      ).toThrow(
        expect.objectContaining({
          code: 'ERR_CONFLICT',
          message: expect.stringContaining('is already revoked'),
        }),
      );
    }
    expect(state()).toEqual(before);
  });

  it('reports an unknown target as not found and refuses to revoke the CA itself', () => {
    const before = state();
    expect(() => revokeCertificate(t.db, t.dataDir, 'nobody', 'unspecified', 'test', { crlDays: 7 })).toThrow(
      expect.objectContaining({
        code: 'ERR_NOT_FOUND',
        message: "no certificate with serial or name 'nobody'",
      }),
    );
    expect(() =>
      revokeCertificate(t.db, t.dataDir, 'test CA', 'unspecified', 'test', { crlDays: 7 }),
    ).toThrow(expect.objectContaining({ code: 'ERR_USAGE' }));
    expect(state()).toEqual(before);
  });

  it('leaves no revocation when the CRL cannot be written', async () => {
    const j = await issue('judy');
    const before = state();
    // A directory where crl.pem should go makes the rename fail, even for root (chmod would not).
    const saved = `${t.paths.crl}.saved`;
    renameSync(t.paths.crl, saved);
    mkdirSync(t.paths.crl);
    try {
      expect(() => revokeCertificate(t.db, t.dataDir, 'judy', 'unspecified', 'test', { crlDays: 7 })).toThrow(
        expect.objectContaining({ code: 'ERR_FILE' }),
      );
    } finally {
      rmdirSync(t.paths.crl);
      renameSync(saved, t.paths.crl);
    }
    expect(state()).toEqual(before);
    expect(readdirSync(t.paths.dir).sort()).toEqual(['ca.crt.pem', 'ca.key.pem', 'crl.pem']);
    expect(revokedSerials(t.db).has(j.serial)).toBe(false);
  });
});
