/**
 * @module `mailgate ca ...`: normalise flags, call certs/, print. Modules that load node-forge are
 * imported inside the commands that sign, so `ca list` starts without them.
 */
import { join, resolve } from 'node:path';
import { caExists, caPaths, readCaCertificatePem } from '../../certs/ca-files.js';
import { type CertificateRecord, listCertificates } from '../../certs/certificate-store.js';
import {
  checkClientName,
  checkDays,
  checkEmail,
  checkReason,
  checkRole,
  DEFAULT_CA_CN,
  DEFAULT_CA_DAYS,
  DEFAULT_SERVER_DAYS,
} from '../../certs/rules.js';
import { writeFileAtomic } from '../../lib/atomic-file.js';
import { CaMissingError, UsageError } from '../../lib/errors.js';
import { checkOutputDir, ensureOutputDir } from '../../lib/output-dir.js';
import { assertAbsent, type OutputFile, stageFiles } from '../../lib/staged-files.js';
import { hasDatabase, withDatabase } from '../../store/database.js';
import type { FlagValues } from '../command-spec.js';
import type { CliContext } from '../context.js';
import { optionalInteger, optionalList, optionalString, requiredString, secretFromFile } from '../flags.js';

/** `ca init [--cn NAME] [--days N] [--force]` */
export async function caInit(flags: FlagValues, ctx: CliContext): Promise<void> {
  const commonName = optionalString(flags, 'cn') ?? DEFAULT_CA_CN;
  if (!/^[\x20-\x7e]{1,64}$/.test(commonName))
    throw new UsageError('--cn must be 1-64 printable ASCII characters');
  const days = checkDays(optionalString(flags, 'days'), DEFAULT_CA_DAYS, 36_500);
  const force = flags.force === true;
  const { crlDays } = (await ctx.config()).ca;
  const { initCa } = await import('../../certs/ca-init.js');
  const result = await withDatabase(ctx.dataDir, (db) =>
    initCa(db, ctx.dataDir, { commonName, days, force, actor: ctx.actor, crlDays }),
  );
  const certPath = caPaths(ctx.dataDir).cert;
  if (ctx.json) {
    ctx.out(
      JSON.stringify({
        serial: result.serial,
        cn: commonName,
        notAfter: iso(result.notAfter),
        fingerprint256: result.fingerprint256,
        cert: certPath,
      }),
    );
  } else {
    ctx.err(
      `created CA '${commonName}' (serial ${result.serial}, valid until ${iso(result.notAfter)}): ${certPath}`,
    );
  }
  if (result.dropped > 0) {
    ctx.err(
      `replaced the previous CA: ${result.dropped} certificates it issued no longer verify; issue new ones`,
    );
  }
}

/** `ca cert [--out FILE]` */
export async function caCert(flags: FlagValues, ctx: CliContext): Promise<void> {
  const pem = readCaCertificatePem(ctx.dataDir);
  const out = optionalString(flags, 'out');
  if (out === undefined) ctx.out(pem);
  else writeFileAtomic(resolve(out), pem, { mode: 0o644 });
}

/** `ca issue client --name NAME ...`: files are written after the record commits; if they fail, it is withdrawn. */
export async function caIssueClient(flags: FlagValues, ctx: CliContext): Promise<void> {
  const name = checkClientName(requiredString(flags, 'name'));
  const role = checkRole(optionalString(flags, 'role') ?? 'admin');
  const emailText = optionalString(flags, 'email');
  const email = emailText === undefined ? undefined : checkEmail(emailText);
  const { ca: limits } = await ctx.config();
  const days = checkDays(optionalString(flags, 'days'), limits.clientDays, limits.maxDays);
  const inline = optionalString(flags, 'p12-password');
  const file = optionalString(flags, 'p12-password-file');
  if (inline !== undefined && file !== undefined)
    throw new UsageError('give either --p12-password or --p12-password-file, not both');
  const password = inline ?? secretFromFile(file, '--p12-password-file');
  const { checkPkcs12Algorithm, checkPkcs12Password } = await import('../../certs/pkcs12.js');
  const algorithmText = optionalString(flags, 'p12-algorithm');
  if (algorithmText !== undefined && password === undefined) {
    throw new UsageError('--p12-algorithm needs --p12-password or --p12-password-file');
  }
  const p12 =
    password === undefined
      ? undefined
      : { password: checkPkcs12Password(password), algorithm: checkPkcs12Algorithm(algorithmText ?? '3des') };
  const { files, publish } = issueOutput(flags, ctx, name, p12 !== undefined);
  const { issueClientCertificate } = await import('../../certs/issue-client.js');
  const issued = await withDatabase(ctx.dataDir, (db) =>
    issueClientCertificate(db, ctx.dataDir, {
      name,
      role,
      email,
      days,
      p12,
      actor: ctx.actor,
      publish: (i) => publish(i.certPem, i.keyPem, i.p12),
    }),
  );
  const summary = {
    serial: issued.serial,
    name: issued.name,
    role: issued.role,
    email: issued.email,
    notBefore: iso(issued.notBefore),
    notAfter: iso(issued.notAfter),
    fingerprint256: issued.fingerprint256,
    files,
  };
  if (ctx.json) ctx.out(JSON.stringify(summary));
  else {
    ctx.err(
      `issued client certificate '${name}' (role ${role}, serial ${issued.serial}, valid until ${summary.notAfter})`,
    );
    for (const [kind, path] of Object.entries(files)) ctx.err(`  ${kind.padEnd(4)} ${path}`);
  }
  // After the work, so that a refusal stays one line.
  if (inline !== undefined)
    ctx.err(
      'warning: --p12-password shows the password in the process list and the shell history; use --p12-password-file',
    );
}

/** `ca issue server --dns HOST[,..] [--ip IP[,..]] [--days N] [--out DIR] [--force]` */
export async function caIssueServer(flags: FlagValues, ctx: CliContext): Promise<void> {
  const dnsNames = optionalList(flags, 'dns') ?? [];
  if (dnsNames.length === 0) throw new UsageError('--dns is required (one or more host names)');
  const { normaliseIps, normaliseNames, issueServerCertificate } = await import(
    '../../certs/issue-server.js'
  );
  const dns = normaliseNames(dnsNames);
  const ips = normaliseIps(optionalList(flags, 'ip') ?? []);
  const days = checkDays(optionalString(flags, 'days'), DEFAULT_SERVER_DAYS, (await ctx.config()).ca.maxDays);
  const { files, publish } = issueOutput(flags, ctx, dns[0]!.replace('*', 'wildcard'), false);
  const issued = await withDatabase(ctx.dataDir, (db) =>
    issueServerCertificate(db, ctx.dataDir, {
      dns,
      ips,
      days,
      actor: ctx.actor,
      publish: (i) => publish(i.chainPem, i.keyPem),
    }),
  );
  const summary = {
    serial: issued.serial,
    name: issued.name,
    dns,
    ips,
    notBefore: iso(issued.notBefore),
    notAfter: iso(issued.notAfter),
    fingerprint256: issued.fingerprint256,
    files,
  };
  if (ctx.json) ctx.out(JSON.stringify(summary));
  else
    ctx.err(
      `issued server certificate for ${[...dns, ...ips].join(', ')} (serial ${issued.serial}): ${files.cert}, ${files.key}`,
    );
}

/** `ca list [--revoked] [--expiring DAYS] [--json]` */
export async function caList(flags: FlagValues, ctx: CliContext): Promise<void> {
  const expiringWithinDays = optionalInteger(flags, 'expiring', 0, 36_500);
  if (expiringWithinDays !== undefined && flags.revoked === true) {
    throw new UsageError('--revoked and --expiring exclude each other (expiring lists valid certificates)');
  }
  const filter = { revoked: flags.revoked === true, expiringWithinDays };
  // Listing never creates a database: a fresh data dir simply has no certificates.
  const certificates = hasDatabase(ctx.dataDir)
    ? await withDatabase(ctx.dataDir, (db) => listCertificates(db, filter))
    : [];
  if (ctx.json) {
    ctx.out(JSON.stringify({ certificates: certificates.map(toJson) }));
    return;
  }
  const rows = certificates.map((c) => [c.serial, c.kind, c.status, iso(c.notAfter), c.role ?? '-', c.name]);
  ctx.out(table([['SERIAL', 'KIND', 'STATUS', 'NOT AFTER', 'ROLE', 'NAME'], ...rows]));
}

/** `ca revoke SERIAL|NAME [--reason R]` */
export async function caRevoke(flags: FlagValues, target: string, ctx: CliContext): Promise<void> {
  const reason = checkReason(optionalString(flags, 'reason') ?? 'unspecified');
  const { crlDays } = (await ctx.config()).ca;
  requireCa(ctx);
  const { revokeCertificate } = await import('../../certs/revoke.js');
  const { certificate, crl } = await withDatabase(ctx.dataDir, (db) =>
    revokeCertificate(db, ctx.dataDir, target, reason, ctx.actor, { crlDays }),
  );
  if (ctx.json) ctx.out(JSON.stringify({ ...toJson(certificate), crlNumber: crl.number }));
  else {
    ctx.err(
      `revoked ${certificate.serial} (${certificate.name}, ${reason}); CRL #${crl.number} written to ${caPaths(ctx.dataDir).crl}`,
    );
  }
}

/** `ca crl [--out FILE] [--der]` */
export async function caCrl(flags: FlagValues, ctx: CliContext): Promise<void> {
  const out = optionalString(flags, 'out');
  // Like `openssl crl -outform DER`: a pipe or a redirect takes the bytes, only a terminal is refused.
  if (flags.der === true && out === undefined && ctx.outBinary === undefined)
    throw new UsageError('--der writes binary: give --out FILE or redirect stdout to a file or pipe');
  const { crlDays } = (await ctx.config()).ca;
  requireCa(ctx);
  const { ensureFreshCrl } = await import('../../certs/crl-store.js');
  const { pem } = await withDatabase(ctx.dataDir, (db) => ensureFreshCrl(db, ctx.dataDir, { crlDays }));
  if (out === undefined) {
    if (flags.der === true) ctx.outBinary!(pemBody(pem));
    else ctx.out(pem);
  } else if (flags.der === true) writeFileAtomic(resolve(out), pemBody(pem), { mode: 0o644 });
  else writeFileAtomic(resolve(out), pem, { mode: 0o644 });
}

/**
 * Writes every file or none into `dir`, creating it (0700) when missing: staged under temporary names,
 * then published together; on failure neither the files nor the folders created for them stay.
 */
function writeAll(dir: string, files: OutputFile[], overwrite: boolean): void {
  const out = ensureOutputDir(dir);
  let staged: ReturnType<typeof stageFiles> | undefined;
  try {
    staged = stageFiles(files, { overwrite });
    staged.publish();
  } catch (error) {
    staged?.discard();
    out.removeCreated();
    throw error;
  }
}

/**
 * The files `ca issue` writes for `stem` into --out: its certificate (0644), key and PKCS#12 (0600). The
 * CA, the folder and (without --force) the files' absence are checked before any work; `publish` writes
 * them all or none, after the certificate's record commits.
 */
function issueOutput(flags: FlagValues, ctx: CliContext, stem: string, withP12: boolean) {
  const dir = outDir(flags);
  const files: { cert: string; key: string; p12?: string } = {
    cert: join(dir, `${stem}.crt.pem`),
    key: join(dir, `${stem}.key.pem`),
    ...(withP12 ? { p12: join(dir, `${stem}.p12`) } : {}),
  };
  const force = flags.force === true;
  requireCa(ctx);
  if (!force) assertAbsent(Object.values(files));
  const publish = (certPem: string, keyPem: string, p12?: Uint8Array) =>
    writeAll(
      dir,
      [
        { path: files.cert, data: certPem, mode: 0o644 },
        { path: files.key, data: keyPem, mode: 0o600 },
        ...(files.p12 && p12 ? [{ path: files.p12, data: p12, mode: 0o600 }] : []),
      ],
      force,
    );
  return { files, publish };
}

function requireCa(ctx: CliContext): void {
  if (!caExists(ctx.dataDir)) throw new CaMissingError(ctx.dataDir);
}

/** --out DIR (default: the current folder), checked before any work; created when the files are written. */
function outDir(flags: FlagValues): string {
  const dir = resolve(optionalString(flags, 'out') ?? '.');
  checkOutputDir(dir);
  return dir;
}

function toJson(c: CertificateRecord) {
  return {
    serial: c.serial,
    name: c.name,
    kind: c.kind,
    role: c.role,
    email: c.email,
    sans: c.sans,
    notBefore: iso(c.notBefore),
    notAfter: iso(c.notAfter),
    status: c.status,
    revokedAt: c.revokedAt === null ? null : iso(c.revokedAt),
    revocationReason: c.revocationReason,
    fingerprint256: c.fingerprint256,
  };
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

function pemBody(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  return rows
    .map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  '))
    .join('\n');
}
