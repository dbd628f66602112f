import { X509Certificate } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caPaths } from '../../../certs/ca-files.js';
import { ensureServerCertificate } from '../../../certs/server-auto.js';
import { type Database, openDatabase } from '../../../store/database.js';
import { tool } from '../../helpers/ca-fixture.js';
import { tempDatabase } from '../../helpers/temp-store.js';

const DAY = 86_400_000;
let _root: string;
let dataDir: string;
let db: Database;
let other: Database;
const kinds = () =>
  db.prepare('SELECT kind, count(*) AS n FROM certificates GROUP BY kind ORDER BY kind').all();

beforeAll(() => {
  ({ dataDir, db } = tempDatabase('mailgate-auto-'));
  other = openDatabase(dataDir);
});
afterAll(() => other.close());

describe('ensureServerCertificate', () => {
  it('creates the CA and one server certificate when two callers race on an empty data dir', async () => {
    const options = { hosts: ['mail.example.com', 'localhost'], ips: ['127.0.0.1', '::1'], crlDays: 30 };
    const [a, b] = await Promise.all([
      ensureServerCertificate(db, dataDir, options),
      ensureServerCertificate(other, dataDir, options),
    ]);
    expect(a).toEqual(b);
    expect(a).toEqual({
      certPath: join(dataDir, 'tls', 'server.crt.pem'),
      keyPath: join(dataDir, 'tls', 'server.key.pem'),
    });
    expect(kinds()).toEqual([
      { kind: 'ca', n: 1 },
      { kind: 'server', n: 1 },
    ]);
    const paths = caPaths(dataDir);
    expect(statSync(paths.serverKey).mode & 0o777).toBe(0o600);
    expect(statSync(paths.key).mode & 0o777).toBe(0o600);
    expect(statSync(paths.dir).mode & 0o777).toBe(0o700);
    expect(statSync(paths.tlsDir).mode & 0o777).toBe(0o700);
    const verify = tool('openssl', ['verify', '-CAfile', paths.cert, '-purpose', 'sslserver', a.certPath]);
    expect(verify.stdout).toContain(': OK');
    const cert = new X509Certificate(readFileSync(a.certPath));
    expect(cert.subject).toBe('CN=mail.example.com');
    expect(cert.subjectAltName).toBe(
      'DNS:mail.example.com, DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1',
    );
    expect(readFileSync(a.certPath, 'utf8').match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
    const text = tool('openssl', ['x509', '-in', a.certPath, '-noout', '-text']).stdout;
    expect(text).toMatch(/Extended Key Usage:\s*\n\s+TLS Web Server Authentication\n/);
    expect(text).toMatch(/Key Usage: critical\s+Digital Signature, Key Encipherment/);
    const caText = tool('openssl', ['x509', '-in', paths.cert, '-noout', '-text']).stdout;
    expect(caText).toMatch(/Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
    expect(caText).toMatch(/Key Usage: critical\s+Certificate Sign, CRL Sign/);
    expect(caText).toContain('Subject: CN = mailgate CA');
    // The first CRL lasts ca.crlDays, not the default.
    const crl = tool('openssl', ['crl', '-in', paths.crl, '-noout', '-lastupdate', '-nextupdate']).stdout;
    const [last, next] = [...crl.matchAll(/Update=(.+)/g)].map((m) => Date.parse(m[1]!));
    expect(next! - last!).toBe(30 * 86_400_000);
    expect(caText).toContain('Public-Key: (3072 bit)');
  });

  it('reuses the certificate while it covers the names and has more than 30 days left', async () => {
    const before = readFileSync(join(dataDir, 'tls', 'server.crt.pem'), 'utf8');
    await ensureServerCertificate(db, dataDir, { hosts: ['localhost'], ips: ['127.0.0.1'], crlDays: 7 });
    await ensureServerCertificate(db, dataDir, {
      crlDays: 7,
      hosts: ['LOCALHOST'],
      ips: ['0:0::1'],
      now: Date.now() + 300 * DAY,
    });
    expect(readFileSync(join(dataDir, 'tls', 'server.crt.pem'), 'utf8')).toBe(before);
    expect(kinds()).toContainEqual({ kind: 'server', n: 1 });
  });

  it('reissues for a new name and when expiry is near', async () => {
    const { certPath } = await ensureServerCertificate(db, dataDir, {
      crlDays: 7,
      hosts: ['other.example.com'],
      ips: [],
    });
    expect(new X509Certificate(readFileSync(certPath)).subjectAltName).toBe('DNS:other.example.com');
    const notAfter = Date.parse(new X509Certificate(readFileSync(certPath)).validTo);
    await ensureServerCertificate(db, dataDir, {
      crlDays: 7,
      hosts: ['other.example.com'],
      ips: [],
      now: notAfter - 29 * DAY,
    });
    expect(kinds()).toContainEqual({ kind: 'server', n: 3 });
  });

  it('refuses invalid names with a UsageError', async () => {
    await expect(
      ensureServerCertificate(db, dataDir, { hosts: ['bad host'], ips: [], crlDays: 7 }),
    ).rejects.toMatchObject({ code: 'ERR_USAGE' });
    await expect(
      ensureServerCertificate(db, dataDir, { hosts: ['ok'], ips: ['1.2.3'], crlDays: 7 }),
    ).rejects.toMatchObject({ code: 'ERR_USAGE' });
  });
});
