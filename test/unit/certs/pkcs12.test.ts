import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type forge from 'node-forge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCertificate, clientExtensions } from '../../../certs/build-certificate.js';
import { generateRsaKey, type RsaKey } from '../../../certs/keys.js';
import { buildPkcs12, checkPkcs12Algorithm, type Pkcs12Algorithm } from '../../../certs/pkcs12.js';
import { randomSerialHex } from '../../../certs/serial.js';
import { createTestCa, type TestCa, tool } from '../../helpers/ca-fixture.js';

const PASSWORD = 'correct horse-battery!';
let t: TestCa;
let key: RsaKey;
let cert: forge.pki.Certificate;

beforeAll(async () => {
  t = await createTestCa('mailgate-p12-');
  key = await generateRsaKey(2048);
  cert = buildCertificate({
    serialHex: randomSerialHex(),
    commonName: 'erin',
    publicKey: key.publicKey,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 86_400_000),
    extensions: clientExtensions('urn:mailgate:role:admin', 'erin@example.org'),
    issuer: t.ca,
  });
});
afterAll(() => t.cleanup());

function writeP12(algorithm: Pkcs12Algorithm): string {
  const path = join(t.root, `erin-${algorithm}.p12`);
  writeFileSync(
    path,
    buildPkcs12({
      key: key.privateKey,
      cert,
      caCert: t.ca.cert,
      password: PASSWORD,
      algorithm,
      friendlyName: 'erin',
    }),
  );
  return path;
}

describe.each(['3des', 'aes256'] as const)('buildPkcs12 %s', (algorithm) => {
  it('is read by openssl pkcs12 -info with the password (OpenSSL 3, no -legacy needed), with chain and friendly name', () => {
    const path = writeP12(algorithm);
    const info = tool('openssl', ['pkcs12', '-info', '-noout', '-in', path, '-passin', `pass:${PASSWORD}`]);
    expect(info.code, info.out).toBe(0);
    expect(info.out).toContain(
      algorithm === '3des'
        ? 'Shrouded Keybag: pbeWithSHA1And3-KeyTripleDES-CBC'
        : 'PBES2, PBKDF2, AES-256-CBC',
    );
    const dump = tool('openssl', ['pkcs12', '-in', path, '-passin', `pass:${PASSWORD}`, '-nodes']).stdout;
    expect(dump).toContain('friendlyName: erin');
    expect(dump).toContain('subject=CN = erin');
    expect(dump).toContain('subject=CN = test CA');
    expect(dump.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
    expect(dump).toContain('BEGIN PRIVATE KEY');
    const wrong = tool('openssl', ['pkcs12', '-info', '-noout', '-in', path, '-passin', 'pass:wrong']);
    expect(wrong.code).not.toBe(0);
  });

  it('is imported by pk12util into a fresh NSS database (what Chrome and Firefox use on Linux)', () => {
    const path = writeP12(algorithm);
    const nssdb = join(t.root, `nssdb-${algorithm}`);
    mkdirSync(nssdb);
    expect(tool('certutil', ['-N', '-d', `sql:${nssdb}`, '--empty-password']).code).toBe(0);
    const imported = tool('pk12util', ['-i', path, '-d', `sql:${nssdb}`, '-W', PASSWORD]);
    expect(imported.out).toContain('PKCS12 IMPORT SUCCESSFUL');
    expect(imported.code).toBe(0);
    const keys = tool('certutil', ['-K', '-d', `sql:${nssdb}`]);
    expect(keys.out).toContain('erin');
    const certs = tool('certutil', ['-L', '-d', `sql:${nssdb}`]);
    expect(certs.out).toContain('erin');
    expect(certs.out).toContain('test CA');
  });
});

describe('PKCS#12 inputs', () => {
  it.each(['', 'pässword', 'tab\there'])('refuses the password %j', (password) => {
    expect(() =>
      buildPkcs12({
        key: key.privateKey,
        cert,
        caCert: t.ca.cert,
        password,
        algorithm: '3des',
        friendlyName: 'x',
      }),
    ).toThrow(expect.objectContaining({ code: 'ERR_USAGE' }));
  });
  it('accepts only 3des and aes256', () => {
    expect(checkPkcs12Algorithm('aes256')).toBe('aes256');
    expect(() => checkPkcs12Algorithm('rc2')).toThrow(
      '--p12-algorithm must be one of 3des, aes256, got "rc2"',
    );
  });
});
