import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initCa } from '../../../certs/ca-init.js';
import { issueClientCertificate } from '../../../certs/issue-client.js';
import { ensureServerCertificate } from '../../../certs/server-auto.js';
import { createTestCa, type TestCa, tool } from '../../helpers/ca-fixture.js';

let t: TestCa;
beforeAll(async () => {
  t = await createTestCa('mailgate-init-');
});
afterAll(() => t.cleanup());

describe('initCa', () => {
  it('recorded the CA with kind ca, audited it and wrote a first CRL that verifies', () => {
    const row = t.db
      .prepare("SELECT serial, name, cert_pem FROM certificates WHERE kind = 'ca'")
      .get() as Record<string, string>;
    expect(row.name).toBe('test CA');
    expect(row.cert_pem).toBe(readFileSync(t.paths.cert, 'utf8'));
    const audit = t.db.prepare("SELECT actor, target FROM audit WHERE action = 'ca.init'").get();
    expect(audit).toEqual({ actor: 'test', target: row.serial });
    expect(tool('openssl', ['crl', '-in', t.paths.crl, '-CAfile', t.paths.cert, '-noout']).out).toContain(
      'verify OK',
    );
    expect(tool('openssl', ['x509', '-in', t.paths.cert, '-noout', '-text']).stdout).toMatch(
      /Authority Key Identifier/,
    );
  });

  it('refuses to replace an existing CA without force, saying what force does, and changes nothing', async () => {
    const before = readFileSync(t.paths.cert, 'utf8');
    await expect(
      initCa(t.db, t.dataDir, { commonName: 'x', days: 10, force: false, actor: 'test', crlDays: 7 }),
    ).rejects.toMatchObject({
      code: 'ERR_CONFLICT',
      message: expect.stringContaining('--force replaces it and invalidates every certificate it issued'),
    });
    expect(readFileSync(t.paths.cert, 'utf8')).toBe(before);
  });

  it('with force replaces the CA, drops what the old one issued and removes the auto TLS files', async () => {
    await issueClientCertificate(t.db, t.dataDir, { name: 'old', role: 'admin', days: 5, actor: 'test' });
    const auto = await ensureServerCertificate(t.db, t.dataDir, {
      hosts: ['localhost'],
      ips: [],
      crlDays: 7,
    });
    const oldCa = readFileSync(t.paths.cert, 'utf8');
    const crlNumber = t.db.prepare('SELECT number FROM crl').pluck().get() as number;
    const result = await initCa(t.db, t.dataDir, {
      commonName: 'new CA',
      days: 10,
      force: true,
      actor: 'test',
      crlDays: 7,
    });
    expect(result.dropped).toBe(3);
    expect(readFileSync(t.paths.cert, 'utf8')).not.toBe(oldCa);
    expect(t.db.prepare('SELECT kind, name FROM certificates').all()).toEqual([
      { kind: 'ca', name: 'new CA' },
    ]);
    expect(existsSync(auto.certPath) || existsSync(auto.keyPath)).toBe(false);
    expect(t.db.prepare('SELECT number FROM crl').pluck().get()).toBe(crlNumber + 1);
    expect(tool('openssl', ['crl', '-in', t.paths.crl, '-CAfile', t.paths.cert, '-noout']).out).toContain(
      'verify OK',
    );
  });
});
