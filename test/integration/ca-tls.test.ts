import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureFreshCrl } from '../../certs/crl-store.js';
import { type IssuedClientCertificate, issueClientCertificate } from '../../certs/issue-client.js';
import { issueServerCertificate } from '../../certs/issue-server.js';
import { revokeCertificate } from '../../certs/revoke.js';
import { createTestCa, type TestCa } from '../helpers/ca-fixture.js';

const PASSWORD = 'p12-pass';
let t: TestCa;
let server: tls.Server;
let port: number;
let valid: IssuedClientCertificate;
let valid3des: IssuedClientCertificate;
let revoked: IssuedClientCertificate;

beforeAll(async () => {
  t = await createTestCa('mailgate-tls-');
  const issue = (name: string, algorithm: '3des' | 'aes256') =>
    issueClientCertificate(t.db, t.dataDir, {
      name,
      role: 'admin',
      days: 5,
      actor: 'test',
      p12: { password: PASSWORD, algorithm },
    });
  valid = await issue('valid', 'aes256');
  valid3des = await issue('legacy', '3des');
  revoked = await issue('lost-laptop', 'aes256');
  revokeCertificate(t.db, t.dataDir, revoked.serial, 'keyCompromise', 'test', { crlDays: 7 });
  const srv = await issueServerCertificate(t.db, t.dataDir, {
    dns: ['localhost'],
    ips: ['127.0.0.1'],
    days: 5,
    actor: 'test',
  });
  const { pem: crl } = ensureFreshCrl(t.db, t.dataDir, { crlDays: 7 });
  // What the gateway does: trust the CA, load the CRL, ask for (not require) a client certificate.
  server = tls.createServer(
    {
      key: srv.keyPem,
      cert: srv.chainPem,
      ca: t.ca.certPem,
      crl,
      requestCert: true,
      rejectUnauthorized: false,
    },
    (socket) => {
      const peer = socket.getPeerCertificate();
      socket.end(
        JSON.stringify({
          authorized: socket.authorized,
          error: socket.authorizationError ?? null,
          serial: peer.serialNumber,
        }),
      );
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  t?.cleanup();
});

function handshake(
  options: tls.ConnectionOptions,
): Promise<{ authorized: boolean; error: string | null; serial: string }> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      servername: 'localhost',
      ca: t.ca.certPem,
      ...options,
    });
    let body = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk) => {
      body += chunk;
    });
    socket.on('end', () => resolve(JSON.parse(body)));
    socket.on('error', reject);
  });
}

describe('client certificates against a Node TLS server with the CA and the CRL', () => {
  it('accepts a valid client certificate (PEM key and cert)', async () => {
    const result = await handshake({ key: valid.keyPem, cert: valid.certPem });
    expect(result).toEqual({ authorized: true, error: null, serial: valid.serial.toUpperCase() });
  });

  it('rejects a revoked client certificate with CERT_REVOKED', async () => {
    const result = await handshake({ key: revoked.keyPem, cert: revoked.certPem });
    expect(result).toMatchObject({ authorized: false, error: 'CERT_REVOKED' });
  });

  it('accepts a client certificate loaded from the AES-256 PKCS#12', async () => {
    const result = await handshake({ pfx: valid.p12, passphrase: PASSWORD });
    expect(result).toEqual({ authorized: true, error: null, serial: valid.serial.toUpperCase() });
  });

  it('accepts a client certificate loaded from the 3DES PKCS#12 (OpenSSL 3 default provider reads it)', async () => {
    const result = await handshake({ pfx: valid3des.p12, passphrase: PASSWORD });
    expect(result).toEqual({ authorized: true, error: null, serial: valid3des.serial.toUpperCase() });
  });

  it('refuses to load a PKCS#12 with the wrong password', () => {
    expect(() => tls.createSecureContext({ pfx: valid.p12, passphrase: 'wrong' })).toThrow(
      /mac verify failure|bad decrypt/i,
    );
  });
});
