import { X509Certificate } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCertificate, certificateFacts, clientExtensions } from '../../../certs/build-certificate.js';
import { type RoleProblem, type RoleReading, roleFromCertificate } from '../../../certs/client-role.js';
import { generateRsaKey, type RsaKey } from '../../../certs/keys.js';
import { createTestCa, type TestCa } from '../../helpers/ca-fixture.js';

let ca: TestCa;
let key: RsaKey;

beforeAll(async () => {
  ca = await createTestCa();
  key = await generateRsaKey(2048);
});
afterAll(() => ca?.cleanup());

type AltName = { type: number; value?: string; ip?: string };
const uri = (value: string): AltName => ({ type: 6, value });
const email = (value: string): AltName => ({ type: 1, value });
const dns = (value: string): AltName => ({ type: 2, value });
const san = (...altNames: AltName[]) => ({ name: 'subjectAltName', altNames });
/** forge writes string values as bytes: hand it UTF-8 bytes for look-alike letters. */
const utf8 = (text: string) => Buffer.from(text, 'utf8').toString('latin1');

/** A certificate signed by the real CA code, with the given CN and extensions. */
function crafted(commonName: string, extensions: object[]): Uint8Array {
  const cert = buildCertificate({
    serialHex: '1a2b3c',
    commonName,
    publicKey: key.publicKey,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 86_400_000),
    extensions,
    issuer: ca.ca,
  });
  return new X509Certificate(certificateFacts(cert).pem).raw;
}

const profile = (...names: AltName[]) => [
  { name: 'basicConstraints', cA: false, critical: true },
  { name: 'extKeyUsage', clientAuth: true },
  san(...names),
];

describe('roleFromCertificate', () => {
  it.each<[string, () => Uint8Array, RoleReading]>([
    [
      'the issued profile',
      () => crafted('alice', clientExtensions('urn:mailgate:role:viewer', 'a@example.com')),
      { role: 'viewer' },
    ],
    [
      'issue 12: role text inside the e-mail, before the viewer URI',
      () =>
        crafted('x', clientExtensions('urn:mailgate:role:viewer', 'URI:urn:mailgate:role:admin@example.com')),
      { role: 'viewer' },
    ],
    [
      'an e-mail that is exactly a role URI',
      () => crafted('x', profile(email('urn:mailgate:role:admin'), uri('urn:mailgate:role:viewer'))),
      { role: 'viewer' },
    ],
    [
      'role text in the CN only',
      () => crafted('URI:urn:mailgate:role:admin', profile(email('a@example.com'))),
      { role: undefined, problem: 'no_role' },
    ],
    [
      'role text in the CN beside a viewer URI',
      () => crafted('urn:mailgate:role:admin', profile(uri('urn:mailgate:role:viewer'))),
      { role: 'viewer' },
    ],
    [
      'role text in a DNS SAN',
      () => crafted('x', profile(dns('urn:mailgate:role:admin'), uri('urn:mailgate:role:operator'))),
      { role: 'operator' },
    ],
    [
      'a DNS SAN only',
      () => crafted('x', profile(dns('urn:mailgate:role:admin'))),
      { role: undefined, problem: 'no_role' },
    ],
    [
      'an IP SAN beside the role',
      () => crafted('x', profile({ type: 7, ip: '10.8.0.2' }, uri('urn:mailgate:role:admin'))),
      { role: 'admin' },
    ],
    [
      'two role URIs, viewer first',
      () => crafted('x', profile(uri('urn:mailgate:role:viewer'), uri('urn:mailgate:role:admin'))),
      { role: undefined, problem: 'several_roles' },
    ],
    [
      'two role URIs, admin first',
      () => crafted('x', profile(uri('urn:mailgate:role:admin'), uri('urn:mailgate:role:viewer'))),
      { role: undefined, problem: 'several_roles' },
    ],
    [
      'the same role URI twice',
      () => crafted('x', profile(uri('urn:mailgate:role:admin'), uri('urn:mailgate:role:admin'))),
      { role: undefined, problem: 'several_roles' },
    ],
    [
      'a role URI in upper case beside a viewer URI',
      () => crafted('x', profile(uri('urn:mailgate:role:viewer'), uri('URN:MAILGATE:ROLE:ADMIN'))),
      { role: undefined, problem: 'several_roles' },
    ],
    [
      'two SAN extensions',
      () => crafted('x', [san(uri('urn:mailgate:role:viewer')), san(uri('urn:mailgate:role:admin'))]),
      { role: undefined, problem: 'duplicate_san' },
    ],
    [
      'no SAN at all',
      () => crafted('x', [{ name: 'extKeyUsage', clientAuth: true }]),
      { role: undefined, problem: 'no_san' },
    ],
    ['no extensions at all', () => crafted('x', []), { role: undefined, problem: 'no_san' }],
  ])('%s', (_name, make, expected) => {
    expect(roleFromCertificate(make())).toEqual(expected);
  });

  // A lone URI SAN in the issued profile that is nearly, but not exactly, a role URI.
  it.each<[string, string, RoleProblem]>([
    ['a role URI in upper case', 'URN:MAILGATE:ROLE:ADMIN', 'unknown_role'],
    ['a Cyrillic i in admin', utf8('urn:mailgate:role:adm\u0456n'), 'unknown_role'],
    ['a Cyrillic e in role', utf8('urn:mailgate:rol\u0435:admin'), 'no_role'],
    ['a fullwidth colon', utf8('urn:mailgate:role\uff1aadmin'), 'no_role'],
    ['a trailing space', 'urn:mailgate:role:admin ', 'unknown_role'],
    ['a trailing NUL', 'urn:mailgate:role:admin\u0000', 'unknown_role'],
    ['a longer role name', 'urn:mailgate:role:administrator', 'unknown_role'],
    ['a role URI with a query', 'urn:mailgate:role:admin?viewer', 'unknown_role'],
    ['a role URI with nothing after the prefix', 'urn:mailgate:role:', 'unknown_role'],
  ])('%s', (_name, value, problem) => {
    expect(roleFromCertificate(crafted('x', profile(uri(value))))).toEqual({ role: undefined, problem });
  });

  it('reads no role from truncated or garbled DER, and never throws', () => {
    const der = crafted('alice', clientExtensions('urn:mailgate:role:admin', undefined));
    expect(roleFromCertificate(der)).toEqual({ role: 'admin' });
    for (const cut of [0, 1, 4, 100, der.length - 1]) {
      expect(roleFromCertificate(der.subarray(0, cut))).toEqual({ role: undefined, problem: 'malformed' });
    }
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 2048 }),
        (bytes) => roleFromCertificate(bytes).role === undefined,
      ),
    );
    fc.assert(
      fc.property(fc.nat(der.length - 1), fc.integer({ min: 0, max: 255 }), (at, byte) => {
        const copy = Uint8Array.from(der);
        copy[at] = byte;
        const reading = roleFromCertificate(copy);
        return reading.role === undefined || reading.role === 'admin';
      }),
    );
  });
});
