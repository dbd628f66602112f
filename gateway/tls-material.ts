/**
 * @module The TLS material of every listener: server certificate (auto-issued or watched files), the
 * mailgate CA for client certificates, and the CRL. Changes are swapped in without a restart.
 */
import { randomBytes, X509Certificate } from 'node:crypto';
import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import { createSecureContext, type SecureContextOptions, type Server as TlsServer } from 'node:tls';
import { readCaCertificatePem } from '../certs/ca-files.js';
import { ensureFreshCrl } from '../certs/crl-store.js';
import { ensureServerCertificate } from '../certs/server-auto.js';
import { ConfigError } from '../lib/errors.js';
import type { Database } from '../store/database.js';
import type { Config } from './config/schema.js';
import type { Logger } from './logger.js';
import type { GatewayMetrics } from './metrics.js';
import { TLS_PROFILES, type TlsProfileName } from './tls-profile.js';

/** How often watched certificate files are stat'ed (Mailcow's ACME client replaces them by rename). */
const WATCH_INTERVAL_MS = 1_000;

/**
 * OpenSSL resumes a session only within the session id context it was made in. Node's default is a hash
 * of the process's argv, which differs between nodes started with different config paths: with the ticket
 * keys shared through Redis, one fixed context lets a ticket from one node resume on another.
 */
const SESSION_ID_CONTEXT = 'mailgate';

export interface TlsMaterialOptions {
  config: Config;
  db: Database;
  logger: Logger;
  metrics: GatewayMetrics;
  /**
   * Under workers: a changed CRL is reported here (the primary rotates every worker's ticket keys together
   * and hands them back through setTicketKeys) instead of rotating this process's keys alone.
   */
  onCrlChange?: (crlNumber: number) => void;
  /**
   * A cluster replica: the CA certificate and CRL come from here (the origin's, read from Redis) instead
   * of the store, and no CA or auto certificate is created (tls.cert/tls.key are files). Undefined until
   * the first state arrived: then no client certificate verifies.
   */
  authority?: () => { caPem: string; crl: { pem: string; number: number } } | undefined;
}

export class TlsMaterial {
  readonly #options: TlsMaterialOptions;
  readonly #servers = new Set<TlsServer>();
  #certPath = '';
  #keyPath = '';
  #cert = '';
  #key = '';
  #ca = '';
  #crl = '';
  #crlNumber = -1;
  #watching = false;
  #profile: TlsProfileName;
  /** Ticket keys given by the primary (workers); undefined = each server keeps its own random keys. */
  #ticketKeys: Buffer | undefined;

  constructor(options: TlsMaterialOptions) {
    this.#options = options;
    this.#profile = options.config.tls.profile;
  }

  /** Resolves the certificate files (issuing the auto certificate and the CA when missing) and loads everything. */
  async load(): Promise<void> {
    const { config, db, authority } = this.#options;
    if (authority) {
      this.#certPath = config.tls.cert;
      this.#keyPath = config.tls.key;
    } else if (config.tls.cert === 'auto') {
      const publicHost = new URL(config.publicUrl).hostname;
      const files = await ensureServerCertificate(db, config.dataDir, {
        hosts: [...new Set([publicHost, 'localhost'])].filter((h) => !/^[\d.]+$|:/.test(h)),
        ips: ['127.0.0.1', '::1'],
        crlDays: config.ca.crlDays,
      });
      this.#certPath = files.certPath;
      this.#keyPath = files.keyPath;
    } else {
      // The CA is still needed to verify admin client certificates.
      await ensureServerCertificate(db, config.dataDir, {
        hosts: ['localhost'],
        ips: ['127.0.0.1'],
        crlDays: config.ca.crlDays,
      });
      this.#certPath = config.tls.cert;
      this.#keyPath = config.tls.key;
    }
    const [certKey, keyKey] = config.tls.cert === 'auto' ? ['tls', 'tls'] : ['tls.cert', 'tls.key'];
    this.#cert = readPem(this.#certPath, certKey);
    this.#key = readPem(this.#keyPath, keyKey);
    if (!authority) this.#ca = readCaCertificatePem(config.dataDir);
    this.#loadCrl();
    try {
      new X509Certificate(this.#cert);
    } catch (cause) {
      throw new ConfigError(certKey, `${this.#certPath} is not a PEM certificate`, { cause });
    }
    try {
      createSecureContext(this.secureContextOptions());
    } catch (cause) {
      const reason = /mismatch/.test((cause as Error).message)
        ? `${this.#keyPath} is not the key of ${this.#certPath}`
        : `${this.#keyPath} is not a PEM private key`;
      throw new ConfigError(keyKey, reason, { cause });
    }
    this.#updateGauges();
  }

  /** Options for createSecureContext / server construction (client certificates requested, not required). */
  secureContextOptions(): SecureContextOptions & { sessionIdContext: string } {
    return {
      ...TLS_PROFILES[this.#profile],
      cert: this.#cert,
      key: this.#key,
      // A replica before its first state has neither (an empty CRL does not parse).
      ca: this.#ca || undefined,
      crl: this.#crl || undefined,
      sessionIdContext: SESSION_ID_CONTEXT,
    };
  }

  caPem(): string {
    return this.#ca;
  }

  crlPem(): string {
    return this.#crl;
  }

  get crlNumber(): number {
    return this.#crlNumber;
  }

  /** Registers a listener whose context follows every change. */
  attach(server: TlsServer): void {
    this.#servers.add(server);
    if (this.#ticketKeys) server.setTicketKeys(this.#ticketKeys);
  }

  /**
   * Serves these session ticket keys (48 bytes) on every listener: workers get the same keys from the
   * primary, so a session resumes on whichever worker the next connection lands.
   */
  setTicketKeys(keys: Buffer): void {
    this.#ticketKeys = keys;
    for (const server of this.#servers) server.setTicketKeys(keys);
  }

  /** Starts watching certificate files given by path. */
  watch(): void {
    if (this.#watching || this.#options.config.tls.cert === 'auto') return;
    this.#watching = true;
    watchFile(this.#certPath, { interval: WATCH_INTERVAL_MS }, this.#onFileChange);
    watchFile(this.#keyPath, { interval: WATCH_INTERVAL_MS }, this.#onFileChange);
  }

  readonly #onFileChange = () => this.reloadCertificate();

  /**
   * Re-reads the certificate and key. A broken pair (unreadable, mismatched, half-written) keeps the old
   * certificate and logs why.
   */
  reloadCertificate(): boolean {
    return this.#switchTo(this.#certPath, this.#keyPath);
  }

  /**
   * SIGHUP: re-reads the certificate files, following tls.cert/tls.key to new paths when they changed. A
   * switch between `auto` and files needs a restart. Returns whether the served certificate changed.
   */
  reload(tls: Config['tls']): boolean {
    const { config, logger } = this.#options;
    if (tls.profile !== this.#profile) {
      // New handshakes negotiate by the new profile; open connections keep what they agreed.
      this.#profile = tls.profile;
      this.#apply(false);
      logger.info({ profile: tls.profile }, 'tls profile changed');
    }
    if ((tls.cert === 'auto') !== (config.tls.cert === 'auto')) {
      logger.warn('tls changed between auto and files: restart mailgate to apply it');
      return this.reloadCertificate();
    }
    if (tls.cert === 'auto') return this.reloadCertificate();
    // Stop watching the old pair; watch() then follows whichever pair is served afterwards.
    const watching = this.#watching;
    this.close();
    const changed = this.#switchTo(tls.cert, tls.key);
    if (watching) this.watch();
    return changed;
  }

  /** Loads the pair at these paths; on success they become the watched, served pair. */
  #switchTo(certPath: string, keyPath: string): boolean {
    const { logger, metrics } = this.#options;
    try {
      const cert = readFileSync(certPath, 'utf8');
      const key = readFileSync(keyPath, 'utf8');
      const same = cert === this.#cert && key === this.#key;
      if (!same) createSecureContext({ ...this.secureContextOptions(), cert, key });
      this.#certPath = certPath;
      this.#keyPath = keyPath;
      if (same) return false;
      this.#cert = cert;
      this.#key = key;
      this.#apply(false);
      this.#updateGauges();
      metrics.tlsReloads.inc({ outcome: 'ok' });
      logger.info({ cert: certPath }, 'tls certificate reloaded');
      return true;
    } catch (error) {
      metrics.tlsReloads.inc({ outcome: 'error' });
      logger.error(
        { cert: certPath, err: (error as Error).message },
        'tls certificate reload failed; keeping the old one',
      );
      return false;
    }
  }

  /**
   * Re-reads (and if due regenerates) the CRL. When it changed, new handshakes get it and the session
   * ticket keys rotate so no resumed session skips the check (docs/security.md rule 4).
   */
  refreshCrl(): boolean {
    const before = this.#crlNumber;
    const ca = this.#ca;
    this.#loadCrl();
    if (this.#crlNumber === before && this.#ca === ca) return false;
    this.#apply(true);
    return true;
  }

  #loadCrl() {
    const { config, db, metrics, authority } = this.#options;
    if (authority) {
      const state = authority();
      if (!state) return;
      this.#ca = state.caPem;
      this.#crl = state.crl.pem;
      this.#crlNumber = state.crl.number;
      return;
    }
    const crl = ensureFreshCrl(db, config.dataDir, { crlDays: config.ca.crlDays });
    this.#crl = crl.pem;
    this.#crlNumber = crl.number;
    metrics.crlNextUpdate.set(Math.floor(crl.nextUpdate / 1000));
  }

  #apply(rotateTickets: boolean) {
    const options = this.secureContextOptions();
    // setSecureContext builds a context with fresh random ticket keys: shared keys are set again.
    for (const server of this.#servers) {
      server.setSecureContext(options);
      if (this.#ticketKeys) server.setTicketKeys(this.#ticketKeys);
    }
    if (!rotateTickets) return;
    const { onCrlChange } = this.#options;
    if (onCrlChange) onCrlChange(this.#crlNumber);
    else for (const server of this.#servers) server.setTicketKeys(randomBytes(48));
  }

  #updateGauges() {
    const { metrics } = this.#options;
    metrics.certificateExpiry.set(
      { kind: 'server' },
      Math.floor(Date.parse(new X509Certificate(this.#cert).validTo) / 1000),
    );
    if (!this.#ca) return;
    metrics.certificateExpiry.set(
      { kind: 'ca' },
      Math.floor(Date.parse(new X509Certificate(this.#ca).validTo) / 1000),
    );
  }

  /** Stops watching files. Idempotent. */
  close(): void {
    if (!this.#watching) return;
    this.#watching = false;
    unwatchFile(this.#certPath, this.#onFileChange);
    unwatchFile(this.#keyPath, this.#onFileChange);
  }
}

function readPem(path: string, key: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (cause) {
    throw new ConfigError(key, `cannot read ${path} (${(cause as NodeJS.ErrnoException).code})`, { cause });
  }
}
