import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import forge from 'node-forge';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  buildCertificate,
  caExtensions,
  certificateFacts,
  clientExtensions,
} from '../../../certs/build-certificate.js';
import { crlSerials, encodeCrl } from '../../../certs/crl-encode.js';
import { generateRsaKey, type RsaKey } from '../../../certs/keys.js';
import { randomSerialHex } from '../../../certs/serial.js';
import { tool } from '../../helpers/ca-fixture.js';
import { tempDir } from '../../helpers/temp-store.js';

const NOW = Date.UTC(2026, 10, 28, 12, 0, 0);
const DAY = 86_400_000;
let dir: string;
let caKey: RsaKey;
let caCert: forge.pki.Certificate;
let caPath: string;
const leaves: Array<{ serial: string; path: string }> = [];

beforeAll(async () => {
  dir = tempDir('mailgate-crl-');
  caKey = await generateRsaKey(2048);
  caCert = buildCertificate({
    serialHex: randomSerialHex(),
    commonName: 'crl test CA',
    publicKey: caKey.publicKey,
    notBefore: new Date(NOW - DAY),
    notAfter: new Date(NOW + 3650 * DAY),
    extensions: caExtensions(),
    issuer: undefined,
    selfKey: caKey.privateKey,
  });
  caPath = join(dir, 'ca.pem');
  writeFileSync(caPath, certificateFacts(caCert).pem);
  const leafKey = await generateRsaKey(2048);
  for (const i of [0, 1]) {
    const serial = randomSerialHex();
    const cert = buildCertificate({
      serialHex: serial,
      commonName: `leaf${i}`,
      publicKey: leafKey.publicKey,
      notBefore: new Date(Date.now() - DAY),
      notAfter: new Date(Date.now() + 30 * DAY),
      extensions: clientExtensions('urn:mailgate:role:admin', undefined),
      issuer: { cert: caCert, key: caKey.privateKey },
    });
    const path = join(dir, `leaf${i}.pem`);
    writeFileSync(path, certificateFacts(cert).pem);
    leaves.push({ serial, path });
  }
});

function writeCrl(name: string, pem: string): string {
  const path = join(dir, name);
  writeFileSync(path, pem);
  return path;
}

describe('encodeCrl', () => {
  it('produces a v2 CRL that openssl verifies against the CA, with AKI, number and reasons', () => {
    const { pem, der } = encodeCrl({
      caCert,
      caKey: caKey.privateKey,
      number: 42,
      thisUpdate: NOW,
      nextUpdate: NOW + 7 * DAY,
      entries: [
        { serialHex: leaves[0]!.serial, revokedAt: NOW - 1000, reason: 'keyCompromise' },
        { serialHex: 'ff', revokedAt: NOW - 2000, reason: 'unspecified' },
      ],
    });
    const path = writeCrl('a.pem', pem);
    const verify = tool('openssl', ['crl', '-in', path, '-CAfile', caPath, '-noout']);
    expect(verify.out).toContain('verify OK');
    const text = tool('openssl', ['crl', '-in', path, '-noout', '-text']).stdout;
    expect(text).toContain('Version 2 (0x1)');
    expect(text).toContain('sha256WithRSAEncryption');
    expect(text).toMatch(/X509v3 CRL Number:\s+42/);
    expect(text).toContain('X509v3 Authority Key Identifier');
    expect(text).toContain('Last Update: Nov 28 12:00:00 2026 GMT');
    expect(text).toContain('Next Update: Dec  5 12:00:00 2026 GMT');
    expect(text).toMatch(/CRL Reason Code:\s+Key Compromise/);
    // 'unspecified' is omitted (RFC 5280 5.3.1), and 0xff gets its 00 sign byte
    expect(text.match(/CRL Reason Code/g)).toHaveLength(1);
    expect(text).toContain('Serial Number: FF');
    expect(crlSerials(der).sort()).toEqual([leaves[0]!.serial, 'ff'].sort());
  });

  it('makes openssl verify -crl_check report the revoked certificate and accept the other', () => {
    const { pem } = encodeCrl({
      caCert,
      caKey: caKey.privateKey,
      number: 1,
      thisUpdate: Date.now() - 60_000,
      nextUpdate: Date.now() + 7 * DAY,
      entries: [{ serialHex: leaves[0]!.serial, revokedAt: Date.now() - 60_000, reason: 'superseded' }],
    });
    const crlPath = writeCrl('b.pem', pem);
    const args = ['verify', '-crl_check', '-CAfile', caPath, '-CRLfile', crlPath];
    const revoked = tool('openssl', [...args, leaves[0]!.path]);
    expect(revoked.code).not.toBe(0);
    expect(revoked.out).toContain('certificate revoked');
    const valid = tool('openssl', [...args, leaves[1]!.path]);
    expect(valid.code).toBe(0);
    expect(valid.stdout).toContain(': OK');
  });

  it('omits revokedCertificates when empty and uses GeneralizedTime from 2050', () => {
    const later = Date.UTC(2051, 0, 2, 3, 4, 5);
    const { pem, der } = encodeCrl({
      caCert,
      caKey: caKey.privateKey,
      number: 7,
      thisUpdate: NOW,
      nextUpdate: later,
      entries: [],
    });
    const path = writeCrl('c.pem', pem);
    expect(tool('openssl', ['crl', '-in', path, '-CAfile', caPath, '-noout']).out).toContain('verify OK');
    const text = tool('openssl', ['crl', '-in', path, '-noout', '-text']).stdout;
    expect(text).toContain('No Revoked Certificates');
    expect(text).toContain('Next Update: Jan  2 03:04:05 2051 GMT');
    const tbs = forge.asn1.fromDer(der.toString('binary')).value[0] as forge.asn1.Asn1;
    const times = (tbs.value as forge.asn1.Asn1[]).slice(3, 5).map((t) => t.type);
    expect(times).toEqual([forge.asn1.Type.UTCTIME, forge.asn1.Type.GENERALIZEDTIME]);
    expect(crlSerials(der)).toEqual([]);
  });

  it('is deterministic for the same input (pure)', () => {
    const input = {
      caCert,
      caKey: caKey.privateKey,
      number: 3,
      thisUpdate: NOW,
      nextUpdate: NOW + DAY,
      entries: [{ serialHex: leaves[1]!.serial, revokedAt: NOW, reason: 'affiliationChanged' as const }],
    };
    expect(encodeCrl(input).pem).toBe(encodeCrl(input).pem);
  });
});
