/**
 * @module Issuing TLS server certificates (serverAuth, SAN DNS/IP, CN = first DNS name).
 */
import { isIP } from 'node:net';
import { UsageError } from '../lib/errors.js';
import type { Database } from '../store/database.js';
import {
  buildCertificate,
  certificateFacts,
  type Issuer,
  serverExtensions,
  validityWindow,
} from './build-certificate.js';
import { insertCertificate } from './certificate-store.js';
import { deliver } from './deliver.js';
import { generateRsaKey, type RsaKey } from './keys.js';
import { loadCa } from './load-ca.js';
import { CLOCK_SKEW_MS, checkDnsName } from './rules.js';
import { randomSerialHex } from './serial.js';

export interface IssueServerOptions {
  dns: readonly string[];
  ips?: readonly string[];
  days: number;
  actor: string;
  now?: number;
  /** Delivers the result after the commit; throwing withdraws the record (as for client certificates). */
  publish?: (issued: IssuedServerCertificate) => void;
}

export interface IssuedServerCertificate {
  serial: string;
  name: string;
  dns: string[];
  ips: string[];
  notBefore: number;
  notAfter: number;
  fingerprint256: string;
  /** Leaf followed by the CA certificate, as TLS servers send it. */
  chainPem: string;
  keyPem: string;
}

/**
 * Issues a server certificate with a fresh RSA-2048 key. Writes no files.
 * @throws UsageError for bad names or days; CaMissingError without a CA.
 * @example await issueServerCertificate(db, dataDir, { dns: ['mail.example.com'], days: 365, actor });
 */
export async function issueServerCertificate(
  db: Database,
  dataDir: string,
  options: IssueServerOptions,
): Promise<IssuedServerCertificate> {
  const ca = loadCa(dataDir);
  const key = await generateRsaKey(2048);
  const issued = db.transaction(() => signServerCertificate(db, ca, key, options)).immediate();
  deliver(db, issued, options.publish);
  return issued;
}

/**
 * The synchronous core: sign with `ca`, record and audit. Call inside a transaction; `publish` is not called.
 * @throws UsageError for bad names or days.
 */
export function signServerCertificate(
  db: Database,
  ca: Issuer & { certPem: string },
  key: RsaKey,
  options: IssueServerOptions,
): IssuedServerCertificate {
  const dns = normaliseNames(options.dns);
  const ips = normaliseIps(options.ips ?? []);
  if (!Number.isInteger(options.days) || options.days < 1) {
    throw new UsageError(`--days must be a whole number of days from 1, got ${options.days}`);
  }
  const now = options.now ?? Date.now();
  const serial = randomSerialHex();
  const cert = buildCertificate({
    serialHex: serial,
    commonName: dns[0]!,
    publicKey: key.publicKey,
    ...validityWindow(now, options.days, CLOCK_SKEW_MS),
    extensions: serverExtensions(dns, ips),
    issuer: ca,
  });
  const facts = certificateFacts(cert);
  insertCertificate(
    db,
    {
      serial,
      kind: 'server',
      name: dns[0]!,
      sans: [...dns.map((d) => `DNS:${d}`), ...ips.map((ip) => `IP:${ip}`)],
      ...facts,
      certPem: facts.pem,
      createdAt: now,
    },
    {
      actor: options.actor,
      action: 'ca.issue',
      detail: { kind: 'server', dns, ips, notAfter: facts.notAfter },
    },
  );
  const issued: IssuedServerCertificate = {
    serial,
    name: dns[0]!,
    dns,
    ips,
    notBefore: facts.notBefore,
    notAfter: facts.notAfter,
    fingerprint256: facts.fingerprint256,
    chainPem: `${facts.pem.trimEnd()}\n${ca.certPem.trimEnd()}\n`,
    keyPem: key.pem,
  };
  return issued;
}

/** Lower-cased, validated, de-duplicated DNS names; at least one. @throws UsageError */
export function normaliseNames(names: readonly string[]): string[] {
  if (names.length === 0) throw new UsageError('--dns needs at least one host name');
  return [...new Set(names.map(checkDnsName))];
}

/** Validated IP addresses in canonical form (IPv6 compressed, lower case). @throws UsageError */
export function normaliseIps(ips: readonly string[]): string[] {
  return [
    ...new Set(
      ips.map((ip) => {
        const version = isIP(ip);
        if (version === 0) throw new UsageError(`--ip holds an invalid IP address ${JSON.stringify(ip)}`);
        return version === 6 ? new URL(`http://[${ip}]/`).hostname.slice(1, -1) : ip;
      }),
    ),
  ];
}
