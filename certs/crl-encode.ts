/**
 * @module X.509 v2 CRL encoding with forge.asn1 (node-forge has no CRL API). Pure: inputs in, DER/PEM out.
 */
import type Forge from 'node-forge';
import { subjectKeyIdentifier } from './build-certificate.js';
import { loadForge } from './forge.js';
import { REVOCATION_REASONS, type RevocationReason } from './rules.js';

/** forge's ASN.1 module, loaded on first use (see forge.ts). */
const asn1 = () => loadForge().asn1;
/** X.690 tag classes and universal tag numbers (the values of forge's asn1.Class and asn1.Type). */
const U = 0x00;
const CONTEXT_SPECIFIC = 0x80;
const T = {
  INTEGER: 2,
  BITSTRING: 3,
  OCTETSTRING: 4,
  NULL: 5,
  OID: 6,
  ENUMERATED: 10,
  SEQUENCE: 16,
  UTCTIME: 23,
  GENERALIZEDTIME: 24,
} as const;

const OID = {
  sha256WithRSAEncryption: '1.2.840.113549.1.1.11',
  authorityKeyIdentifier: '2.5.29.35',
  cRLNumber: '2.5.29.20',
  reasonCode: '2.5.29.21',
} as const;

export interface CrlEntry {
  /** Lower-case hex serial. */
  serialHex: string;
  /** Epoch ms. */
  revokedAt: number;
  reason: RevocationReason;
}

export interface CrlInput {
  caCert: Forge.pki.Certificate;
  caKey: Forge.pki.rsa.PrivateKey;
  /** cRLNumber, increasing with every CRL this CA issues (RFC 5280 5.2.3). */
  number: number;
  thisUpdate: number;
  nextUpdate: number;
  entries: readonly CrlEntry[];
}

/**
 * Encodes and signs a CRL (RFC 5280 5.1) with sha256WithRSAEncryption, AKI and cRLNumber, and a
 * reasonCode per entry except 'unspecified', which RFC 5280 5.3.1 says to omit.
 * @example const { pem } = encodeCrl({ caCert, caKey, number: 1, thisUpdate, nextUpdate, entries: [] });
 */
export function encodeCrl(input: CrlInput): { der: Buffer; pem: string } {
  const algorithm = seq([oid(OID.sha256WithRSAEncryption), asn1().create(U, T.NULL, false, '')]);
  const revoked = [...input.entries]
    .sort((a, b) => a.revokedAt - b.revokedAt || a.serialHex.localeCompare(b.serialHex))
    .map((entry) => {
      const code = REVOCATION_REASONS[entry.reason];
      const fields = [integerFromHex(entry.serialHex), time(entry.revokedAt)];
      if (code !== 0) {
        const enumerated = asn1().create(U, T.ENUMERATED, false, String.fromCharCode(code));
        fields.push(seq([extension(OID.reasonCode, enumerated)]));
      }
      return seq(fields);
    });
  const aki = seq([asn1().create(CONTEXT_SPECIFIC, 0, false, subjectKeyIdentifier(input.caCert))]);
  const extensions = seq([
    extension(OID.authorityKeyIdentifier, aki),
    extension(OID.cRLNumber, integerFromHex(input.number.toString(16))),
  ]);
  const tbs = seq([
    asn1().create(U, T.INTEGER, false, '\x01'), // v2: needed because extensions are present
    algorithm,
    loadForge().pki.distinguishedNameToAsn1(input.caCert.subject),
    time(input.thisUpdate),
    time(input.nextUpdate),
    // An empty revokedCertificates must be absent, not an empty SEQUENCE (RFC 5280 5.1.2.6).
    ...(revoked.length > 0 ? [seq(revoked)] : []),
    asn1().create(CONTEXT_SPECIFIC, 0, true, [extensions]),
  ]);
  const md = loadForge().md.sha256.create();
  md.update(asn1().toDer(tbs).getBytes());
  const signature = input.caKey.sign(md);
  const crl = seq([tbs, algorithm, asn1().create(U, T.BITSTRING, false, `\x00${signature}`)]);
  const bytes = asn1().toDer(crl).getBytes();
  return {
    der: Buffer.from(bytes, 'binary'),
    pem: loadForge().pem.encode({ type: 'X509 CRL', body: bytes }).replaceAll('\r\n', '\n'),
  };
}

/**
 * The serials (lower-case hex) listed in a DER CRL; used to notice that the stored CRL is out of date.
 * @throws Error when the bytes are not a CRL.
 */
export function crlSerials(der: Buffer): string[] {
  const crl = asn1().fromDer(der.toString('binary'));
  const tbs = (crl.value as Forge.asn1.Asn1[])[0]!.value as Forge.asn1.Asn1[];
  const list = tbs[5];
  if (!list || list.tagClass !== U || list.type !== T.SEQUENCE) return [];
  return (list.value as Forge.asn1.Asn1[]).map((entry) => {
    const serial = (entry.value as Forge.asn1.Asn1[])[0]!.value as string;
    return loadForge().util.bytesToHex(serial.replace(/^\x00+(?=.)/s, ''));
  });
}

function seq(values: Forge.asn1.Asn1[]): Forge.asn1.Asn1 {
  return asn1().create(U, T.SEQUENCE, true, values);
}

function oid(id: string): Forge.asn1.Asn1 {
  return asn1().create(U, T.OID, false, asn1().oidToDer(id).getBytes());
}

function extension(id: string, value: Forge.asn1.Asn1): Forge.asn1.Asn1 {
  return seq([oid(id), asn1().create(U, T.OCTETSTRING, false, asn1().toDer(value).getBytes())]);
}

/** A positive DER INTEGER from hex: leading zeros dropped, a 00 prepended when the top bit is set. */
function integerFromHex(hex: string): Forge.asn1.Asn1 {
  let bytes = loadForge()
    .util.hexToBytes(hex.length % 2 ? `0${hex}` : hex)
    .replace(/^\x00+(?=.)/s, '');
  if (bytes.charCodeAt(0) & 0x80) bytes = `\x00${bytes}`;
  return asn1().create(U, T.INTEGER, false, bytes);
}

/** UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280 5.1.2.4). */
function time(ms: number): Forge.asn1.Asn1 {
  const date = new Date(Math.floor(ms / 1000) * 1000);
  return date.getUTCFullYear() < 2050
    ? asn1().create(U, T.UTCTIME, false, asn1().dateToUtcTime(date))
    : asn1().create(U, T.GENERALIZEDTIME, false, asn1().dateToGeneralizedTime(date));
}
