/**
 * @module Building and signing X.509 certificates (v3, SHA-256) with node-forge. Pure: keys and clock are inputs.
 */
import { createHash } from 'node:crypto';
import type Forge from 'node-forge';
import { loadForge } from './forge.js';

/** The issuing CA as forge objects. */
export interface Issuer {
  cert: Forge.pki.Certificate;
  key: Forge.pki.rsa.PrivateKey;
}

export interface CertificateTemplate {
  serialHex: string;
  commonName: string;
  publicKey: Forge.pki.rsa.PublicKey;
  notBefore: Date;
  notAfter: Date;
  /** Profile extensions (basicConstraints, keyUsage, EKU, SAN); SKI and AKI are added here. */
  extensions: object[];
  /** undefined = self-signed with `selfKey`. */
  issuer: Issuer | undefined;
  selfKey?: Forge.pki.rsa.PrivateKey;
}

/** What the inventory stores about a certificate. */
export interface CertificateFacts {
  pem: string;
  /** SHA-256 of the DER, 'AA:BB:...' as Node's X509Certificate.fingerprint256 prints it. */
  fingerprint256: string;
  notBefore: number;
  notAfter: number;
}

/**
 * Builds and signs a certificate. SKI is the SHA-1 of the public key (RFC 5280 4.2.1.2 method 1);
 * AKI carries the issuer's SKI so that chain building works when a CA is re-keyed.
 * @throws Error only for a template that violates forge's invariants (a programming error).
 */
export function buildCertificate(template: CertificateTemplate): Forge.pki.Certificate {
  const cert = loadForge().pki.createCertificate();
  cert.serialNumber = template.serialHex;
  cert.publicKey = template.publicKey;
  cert.validity.notBefore = template.notBefore;
  cert.validity.notAfter = template.notAfter;
  const subject = [{ shortName: 'CN', value: template.commonName }];
  cert.setSubject(subject);
  cert.setIssuer(template.issuer ? template.issuer.cert.subject.attributes : subject);
  const ski = cert.generateSubjectKeyIdentifier().getBytes();
  const issuerSki = template.issuer ? subjectKeyIdentifier(template.issuer.cert) : ski;
  cert.setExtensions([
    ...template.extensions,
    { name: 'subjectKeyIdentifier', subjectKeyIdentifier: loadForge().util.bytesToHex(ski) },
    { name: 'authorityKeyIdentifier', keyIdentifier: issuerSki },
  ]);
  const signingKey = template.issuer?.key ?? template.selfKey;
  if (!signingKey) throw new TypeError('buildCertificate: a self-signed template needs selfKey');
  cert.sign(signingKey, loadForge().md.sha256.create());
  return cert;
}

/** The raw SKI bytes (binary string) of a certificate, computed when the extension is absent. */
export function subjectKeyIdentifier(cert: Forge.pki.Certificate): string {
  const ext = cert.getExtension('subjectKeyIdentifier') as { subjectKeyIdentifier?: string } | undefined;
  return ext?.subjectKeyIdentifier
    ? loadForge().util.hexToBytes(ext.subjectKeyIdentifier)
    : cert.generateSubjectKeyIdentifier().getBytes();
}

/** PEM, fingerprint and validity of a certificate. */
export function certificateFacts(cert: Forge.pki.Certificate): CertificateFacts {
  const der = Buffer.from(
    loadForge().asn1.toDer(loadForge().pki.certificateToAsn1(cert)).getBytes(),
    'binary',
  );
  const hex = createHash('sha256').update(der).digest('hex').toUpperCase();
  return {
    pem: loadForge().pki.certificateToPem(cert),
    fingerprint256: hex.match(/../g)!.join(':'),
    notBefore: cert.validity.notBefore.getTime(),
    notAfter: cert.validity.notAfter.getTime(),
  };
}

/** CA profile: basicConstraints CA:true pathlen 0 and keyCertSign+cRLSign, both critical (RFC 5280 4.2.1.9). */
export function caExtensions(): object[] {
  return [
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
  ];
}

/** TLS server profile: serverAuth, digitalSignature+keyEncipherment, SAN DNS/IP. */
export function serverExtensions(dns: readonly string[], ips: readonly string[]): object[] {
  return [
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    {
      name: 'subjectAltName',
      altNames: [...dns.map((value) => ({ type: 2, value })), ...ips.map((ip) => ({ type: 7, ip }))],
    },
  ];
}

/** TLS client profile: clientAuth only, digitalSignature (critical), SAN URI carrying the role and email. */
export function clientExtensions(roleUri: string, email: string | undefined): object[] {
  return [
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, critical: true },
    { name: 'extKeyUsage', clientAuth: true },
    {
      name: 'subjectAltName',
      altNames: [...(email ? [{ type: 1, value: email }] : []), { type: 6, value: roleUri }],
    },
  ];
}

/** Start and end of a validity window of `days`, backdated by `skewMs` for clients with slow clocks. */
export function validityWindow(
  now: number,
  days: number,
  skewMs: number,
): { notBefore: Date; notAfter: Date } {
  // Whole seconds: X.509 times carry no milliseconds, and the inventory must match the certificate.
  const start = Math.floor((now - skewMs) / 1000) * 1000;
  const end = Math.floor((now + days * 86_400_000) / 1000) * 1000;
  return { notBefore: new Date(start), notAfter: new Date(end) };
}
