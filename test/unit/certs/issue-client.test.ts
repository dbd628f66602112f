import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueClientCertificate } from '../../../certs/issue-client.js';
import { auditOf, createTestCa, type TestCa, tool } from '../../helpers/ca-fixture.js';
import { tempDatabase } from '../../helpers/temp-store.js';

let t: TestCa;
beforeAll(async () => {
  t = await createTestCa();
});
afterAll(() => t.cleanup());

const count = (table: string) => (t.db.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number) ?? 0;

describe('issueClientCertificate', () => {
  it('issues a clientAuth certificate that openssl accepts, with role URI, email, KU, EKU, SKI/AKI', async () => {
    const now = Date.now();
    const issued = await issueClientCertificate(t.db, t.dataDir, {
      name: 'alice',
      role: 'operator',
      email: 'alice@example.org',
      days: 90,
      actor: 'cli:test@host',
      now,
    });
    const certPath = join(t.root, 'alice.crt.pem');
    writeFileSync(certPath, issued.certPem);
    const verify = tool('openssl', ['verify', '-CAfile', t.paths.cert, '-purpose', 'sslclient', certPath]);
    expect(verify.stdout.trim()).toBe(`${certPath}: OK`);
    // clientAuth only: the same certificate is no TLS server certificate
    expect(
      tool('openssl', ['verify', '-CAfile', t.paths.cert, '-purpose', 'sslserver', certPath]).code,
    ).not.toBe(0);
    const text = tool('openssl', ['x509', '-in', certPath, '-noout', '-text']).stdout;
    expect(text).toMatch(/Subject: CN = alice\n/);
    expect(text).toMatch(/X509v3 Key Usage: critical\s+Digital Signature\n/);
    expect(text).toMatch(/X509v3 Extended Key Usage:\s*\n\s+TLS Web Client Authentication\n/);
    expect(text).toMatch(
      /X509v3 Subject Alternative Name:\s*\n\s+email:alice@example.org, URI:urn:mailgate:role:operator\n/,
    );
    expect(text).toContain('Signature Algorithm: sha256WithRSAEncryption');
    expect(text).toContain('Public-Key: (2048 bit)');

    const x509 = new X509Certificate(issued.certPem);
    const ca = new X509Certificate(issued.caCertPem);
    expect(x509.serialNumber.toLowerCase()).toBe(issued.serial);
    expect(issued.serial).toMatch(/^[0-7][0-9a-f]{31}$/);
    expect(x509.fingerprint256).toBe(issued.fingerprint256);
    expect(x509.checkIssued(ca)).toBe(true);
    const caSki = /Subject Key Identifier:\s*\n\s+(\S+)/.exec(
      tool('openssl', ['x509', '-in', t.paths.cert, '-noout', '-text']).stdout,
    )![1];
    expect(text).toMatch(new RegExp(`Authority Key Identifier:\\s*\\n\\s+(keyid:)?${caSki}`));
    expect(Date.parse(x509.validFrom)).toBe(Math.floor((now - 300_000) / 1000) * 1000);
    expect(Date.parse(x509.validTo)).toBe(Math.floor((now + 90 * 86_400_000) / 1000) * 1000);
    expect(issued.keyPem).toContain('BEGIN PRIVATE KEY');

    const row = t.db.prepare('SELECT * FROM certificates WHERE serial = ?').get(issued.serial) as Record<
      string,
      unknown
    >;
    expect(row).toMatchObject({
      kind: 'client',
      name: 'alice',
      role: 'operator',
      email: 'alice@example.org',
    });
    expect(JSON.parse(row.sans as string)).toEqual([
      'email:alice@example.org',
      'URI:urn:mailgate:role:operator',
    ]);
    expect(row.not_after).toBe(issued.notAfter);
    expect(auditOf(t.db, 'ca.issue', issued.serial)).toMatchObject({
      actor: 'cli:test@host',
      detail: { kind: 'client', name: 'alice', role: 'operator' },
    });
  });

  it('keeps the p12 password out of the audit trail and the store', async () => {
    const issued = await issueClientCertificate(t.db, t.dataDir, {
      name: 'secretive',
      role: 'admin',
      days: 1,
      p12: { password: 'Sup3r-Secret-PW', algorithm: 'aes256' },
      actor: 'test',
    });
    expect(issued.p12?.length).toBeGreaterThan(1000);
    const dump =
      JSON.stringify(t.db.prepare('SELECT * FROM audit').all()) +
      JSON.stringify(t.db.prepare('SELECT * FROM certificates').all());
    expect(dump).not.toContain('Sup3r-Secret-PW');
  });

  it('withdraws the record and its audit entry when publishing the result fails', async () => {
    const before = [count('certificates'), count('audit')];
    await expect(
      issueClientCertificate(t.db, t.dataDir, {
        name: 'bob',
        role: 'admin',
        days: 10,
        actor: 'test',
        publish: (issued) => {
          // the record is committed before delivery, so a killed process leaves it listed and revocable
          expect(
            t.db.prepare('SELECT count(*) FROM certificates WHERE serial = ?').pluck().get(issued.serial),
          ).toBe(1);
          throw new Error('disk full');
        },
      }),
    ).rejects.toThrow('disk full');
    expect([count('certificates'), count('audit')]).toEqual(before);
  });

  it.each([
    [{ name: 'a/b' }, /^--name must be/],
    [{ name: '..' }, /^--name must be/],
    [{ role: 'root' }, /^--role must be one of/],
    [{ days: 0 }, /^--days must be a whole number/],
    [{ days: -5 }, /^--days must be a whole number/],
    [{ email: 'not an email' }, /^--email must be/],
  ])('refuses %j with a UsageError and writes nothing', async (override, message) => {
    const before = [count('certificates'), count('audit')];
    const options = { name: 'carol', role: 'admin', days: 10, actor: 'test', ...override } as Parameters<
      typeof issueClientCertificate
    >[2];
    await expect(issueClientCertificate(t.db, t.dataDir, options)).rejects.toMatchObject({
      code: 'ERR_USAGE',
      message: expect.stringMatching(message),
    });
    expect([count('certificates'), count('audit')]).toEqual(before);
  });

  it('refuses without a CA, telling the user to run ca init', async () => {
    const { dataDir: dir, db } = tempDatabase('mailgate-noca-');
    await expect(
      issueClientCertificate(db, dir, { name: 'dave', role: 'admin', days: 10, actor: 'test' }),
    ).rejects.toMatchObject({
      code: 'ERR_CA_MISSING',
      message: expect.stringContaining("run 'mailgate ca init' first"),
    });
    expect(db.prepare('SELECT count(*) FROM certificates').pluck().get()).toBe(0);
  });
});
