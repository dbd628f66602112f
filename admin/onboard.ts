/**
 * @module `admin onboard`: a client certificate with its PKCS#12, a WireGuard peer and the files a new
 * admin needs, stored in one transaction that commits only once every file is written.
 */
import { join } from 'node:path';
import { caExists } from '../certs/ca-files.js';
import { issueClientCertificate } from '../certs/issue-client.js';
import { type ClientRole, checkClientName, checkRole } from '../certs/rules.js';
import { CaMissingError } from '../lib/errors.js';
import { checkOutputDir } from '../lib/output-dir.js';
import { assertAbsent } from '../lib/staged-files.js';
import { appendAudit } from '../store/audit.js';
import type { Database } from '../store/database.js';
import { commitPeer, preparePeer, qrPng, requireServer } from '../wireguard/index.js';
import { type OutputFile, type WriteFile, type WrittenBundle, writeBundle } from './onboard-files.js';
import { renderGuide } from './onboard-guide.js';
import { generatePassword } from './onboard-password.js';

export interface OnboardOptions {
  /** Certificate CN, peer name and file name stem (checkClientName). */
  name: string;
  role: ClientRole;
  email?: string | undefined;
  /** Certificate validity in days; the caller enforces its configured maximum. */
  days: number;
  /** DNS servers for the tunnel (already validated IP addresses). */
  dns?: readonly string[] | undefined;
  /** The server's public address, routed through the tunnel so the public admin URL is reached from inside. */
  routePublic?: string | undefined;
  /**
   * Output folder (absolute); created 0700 when missing. Without it nothing is written and the files are
   * only returned (the admin console hands them to the browser).
   */
  outDir?: string | undefined;
  /** Where the admin pages are, for the guide: `${publicUrl}/admin/`. */
  adminUrl: string;
  /** Who asked, for the audit trail. */
  actor: string;
  /** The PKCS#12 password (from a file the operator wrote); undefined = a fresh random one. */
  password?: string | undefined;
  /**
   * Also write the private key as an unencrypted PEM into `outDir`. Off by default: the folder would then
   * be a full credential by itself, and handing the p12 password over by another channel would protect
   * nothing.
   */
  withPemKey?: boolean | undefined;
  now?: number;
}

/** Absolute paths of the bundle's files. */
export interface OnboardFiles {
  p12: string;
  cert: string;
  /** Only with `withPemKey`. */
  key?: string;
  ca: string;
  conf: string;
  png: string;
  guide: string;
}

/** The bundle's file names, as written into `outDir` and offered as downloads. */
export type OnboardFileNames = ReturnType<typeof baseNames>;

/** The bundle's contents, by the same keys as OnboardFiles. */
export interface OnboardBundle {
  names: OnboardFileNames;
  p12: Buffer;
  cert: string;
  key: string;
  ca: string;
  conf: string;
  png: Buffer;
  guide: string;
}

export interface OnboardResult {
  name: string;
  role: ClientRole;
  serial: string;
  notAfter: number;
  /** The peer's tunnel address. */
  address: string;
  /** The PKCS#12 password: returned for printing once, never stored or logged. */
  password: string;
  /** Where the files were written; undefined without `outDir`. */
  files: OnboardFiles | undefined;
  bundle: OnboardBundle;
}

export interface OnboardDependencies {
  /** Writes one new file; tests inject one that fails half-way. Default: writeNewFile. */
  writeFile?: WriteFile | undefined;
}

/**
 * Onboards an admin: issues a client certificate and a 3DES PKCS#12 (the one format every browser and OS
 * imports) under a fresh random password, adds a WireGuard peer, and returns (and, given `outDir`, writes
 * there) the p12, the PEM certificate and key, the CA certificate, the wg-quick config, its QR code and
 * README.txt.
 * Certificate, peer and audit records share one transaction, committed after the files are written;
 * when any step fails, the transaction is rolled back and the files written so far are removed.
 * The transaction stays open across the key generation's `await`: give this function a connection of its
 * own (the CLI does), not one in a transaction or shared with other concurrent work.
 * @throws UsageError for a bad name or role; NotFoundError before `wg init` (checked first);
 * CaMissingError without a CA; ConflictError for a taken peer name, a full range or an existing file;
 * FileError when `outDir` cannot be created or a file cannot be written.
 * @example const { password, files } = await onboardAdmin(db, dataDir, { name: 'alice', role: 'admin',
 *   days: 365, outDir: '/root/alice', adminUrl: 'https://mail.example.com/admin/', actor });
 */
export async function onboardAdmin(
  db: Database,
  dataDir: string,
  options: OnboardOptions,
  dependencies: OnboardDependencies = {},
): Promise<OnboardResult> {
  const name = checkClientName(options.name, 'NAME');
  const role = checkRole(options.role);
  const { outDir, actor } = options;
  requireServer(db);
  if (!caExists(dataDir)) throw new CaMissingError(dataDir);
  const files = outDir === undefined ? undefined : bundlePaths(outDir, name, options.withPemKey === true);
  if (outDir !== undefined && files) {
    checkOutputDir(outDir);
    assertAbsent(Object.values(files));
  }
  const prepared = preparePeer(db, {
    name,
    dns: options.dns,
    routePublic: options.routePublic,
    now: options.now,
  });
  const png = await qrPng(prepared.config);
  const password = options.password ?? generatePassword();

  const names = baseNames(name);
  let written: WrittenBundle | undefined;
  let bundle: OnboardBundle | undefined;
  // A deferred transaction takes the write lock at its first write (the certificate insert), so the
  // gateway's own writes are not held up while the RSA key is generated. issueClientCertificate's and
  // commitPeer's transactions become savepoints inside it; `publish` runs before the commit.
  db.exec('BEGIN');
  try {
    const issued = await issueClientCertificate(db, dataDir, {
      name,
      role,
      email: options.email,
      days: options.days,
      p12: { password, algorithm: '3des' },
      actor,
      now: options.now,
      publish: (certificate) => {
        commitPeer(db, prepared, actor);
        appendAudit(db, {
          actor,
          action: 'admin.onboard',
          target: name,
          at: options.now,
          detail: { role, serial: certificate.serial, address: prepared.peer.address, outDir },
        });
        const guide = renderGuide({
          name,
          role,
          adminUrl: options.adminUrl,
          serial: certificate.serial,
          notAfter: certificate.notAfter,
          address: prepared.peer.address,
          files: { ...names, key: files?.key && names.key },
        });
        bundle = {
          names,
          p12: certificate.p12!,
          cert: certificate.certPem,
          key: certificate.keyPem,
          ca: certificate.caCertPem,
          conf: prepared.config,
          png,
          guide,
        };
        if (outDir === undefined || !files) return;
        const contents: OutputFile[] = [
          { path: files.ca, data: bundle.ca, mode: 0o644 },
          { path: files.cert, data: bundle.cert, mode: 0o644 },
          ...(files.key ? [{ path: files.key, data: bundle.key, mode: 0o600 }] : []),
          { path: files.p12, data: bundle.p12, mode: 0o600 },
          { path: files.conf, data: bundle.conf, mode: 0o600 },
          { path: files.png, data: bundle.png, mode: 0o600 },
          { path: files.guide, data: bundle.guide, mode: 0o644 },
        ];
        written = writeBundle(outDir, contents, dependencies.writeFile);
      },
    });
    db.exec('COMMIT');
    return {
      name,
      role,
      serial: issued.serial,
      notAfter: issued.notAfter,
      address: prepared.peer.address,
      password,
      files,
      bundle: bundle!,
    };
  } catch (error) {
    written?.remove();
    if (db.inTransaction) db.exec('ROLLBACK');
    throw error;
  }
}

function baseNames(name: string) {
  return {
    p12: `${name}.p12`,
    cert: `${name}.crt.pem`,
    key: `${name}.key.pem`,
    ca: 'mailgate-ca.pem',
    conf: `${name}.conf`,
    png: `${name}.png`,
  };
}

function bundlePaths(dir: string, name: string, withPemKey: boolean): OnboardFiles {
  const names = baseNames(name);
  const at = (file: string) => join(dir, file);
  return {
    p12: at(names.p12),
    cert: at(names.cert),
    ...(withPemKey && { key: at(names.key) }),
    ca: at(names.ca),
    conf: at(names.conf),
    png: at(names.png),
    guide: at('README.txt'),
  };
}
