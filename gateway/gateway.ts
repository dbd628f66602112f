/**
 * @module The running gateway: wires config, store, TLS, guards and listeners, and owns their lifecycle
 * (start, SIGHUP reload, SIGTERM drain).
 */
import type { Server as HttpServer } from 'node:http';
import type { Http2SecureServer } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { createAdminGuard } from '../admin/admin-guard.js';
import type { AdminRole } from '../admin/admin-policy.js';
import { createDenialAudit } from '../admin/denial-audit.js';
import { clientRoles, revokedSerials } from '../certs/certificate-store.js';
import { AddressSet } from '../lib/cidr.js';
import { pruneAudit } from '../store/audit.js';
import { AuditBuffer } from '../store/audit-buffer.js';
import { ChangeWatch } from '../store/change-watch.js';
import { type Database, openDatabase } from '../store/database.js';
import { type Limiter, RateLimiter } from '../tokens/rate-limiter.js';
import { createTokenGuard } from '../tokens/token-guard.js';
import { TokenState, type TokenStatus } from '../tokens/token-state.js';
import { createTokenVerifier } from '../tokens/verify-token.js';
import { AddressLimits, capConnections } from './address-limits.js';
import type { ReplicatedState } from './cluster-state.js';
import type { Config } from './config/schema.js';
import { ConnectionTracker } from './connection-tracker.js';
import { CredentialConnections } from './credential-connections.js';
import { http1Listener } from './exchange.js';
import { createRedirectHandler } from './http-redirect.js';
import { createPlainServer, createTlsServer, listen } from './listeners.js';
import type { Logger } from './logger.js';
import { GatewayMetrics } from './metrics.js';
import { createMetricsHandler } from './metrics-listener.js';
import { ALLOW, type Denied, type PlaneGuard } from './plane-guard.js';
import { requestConnection } from './request-connection.js';
import { createRequestHandler } from './request-handler.js';
import { AccessRecorder } from './request-record.js';
import { createReservedApp, reservedPath, withReservedContext } from './reserved-app.js';
import type { PipelineState } from './resolve-request.js';
import { RouteTable } from './route-table.js';
import type { ReplicaSource, SharedState } from './shared-state.js';
import { TlsMaterial } from './tls-material.js';
import { hstsHeader } from './tls-profile.js';
import { trafficReport } from './traffic-buckets.js';
import { processLoad, TrafficHistory, trafficTotals } from './traffic-history.js';
import { createUpgradeHandler } from './upgrade-handler.js';
import { Upstreams } from './upstreams.js';

/** How often the CRL is checked for regeneration, besides every store change. */
const CRL_CHECK_MS = 60 * 60 * 1000;
/** How often audit records past audit.retentionDays are pruned, besides at start. */
const AUDIT_PRUNE_MS = 24 * 60 * 60 * 1000;

export interface GatewayOptions {
  config: Config;
  logger: Logger;
  /** Under `workers`: the limiter, ticket keys and metrics the primary holds for all workers. */
  shared?: SharedState;
}

export interface GatewayAddresses {
  https: AddressInfo;
  http?: AddressInfo;
  admin?: AddressInfo;
  metrics?: AddressInfo;
}

export class Gateway {
  readonly metrics = new GatewayMetrics();
  readonly addresses: GatewayAddresses = {} as GatewayAddresses;
  readonly #logger: Logger;
  readonly #db: Database;
  /**
   * The admin API writes through its own connection so that the change watch sees its commits; opened with
   * the API or console on their first request.
   */
  #apiDb: Database | undefined;
  readonly #tls: TlsMaterial;
  readonly #tracker = new ConnectionTracker();
  readonly #credentials = new CredentialConnections();
  readonly #audit: AuditBuffer;
  readonly #recordDenial: ReturnType<typeof createDenialAudit>;
  readonly #watch: ChangeWatch;
  readonly #tokens: TokenState;
  readonly #limiter: Limiter;
  /** This process's own limiter (one process); undefined when the primary decides. */
  readonly #localLimiter: RateLimiter | undefined;
  readonly #shared: SharedState | undefined;
  readonly #exposition: Pick<GatewayMetrics['registry'], 'metrics' | 'contentType'>;
  /** Per-address connection and request limits; `limits` needs a restart, so they live as long as the gateway. */
  readonly #addressLimits: AddressLimits;
  readonly #servers: Array<HttpServer | Http2SecureServer> = [];
  /** The last hour of traffic for the console's charts, read from the metric counters at bucket boundaries. */
  readonly #traffic = new TrafficHistory({ read: () => trafficTotals(this.metrics) });
  /** On a cluster replica: where the origin's state comes from (instead of this node's store). */
  readonly #replica: ReplicaSource | undefined;
  #config: Config;
  #state!: PipelineState;
  #revoked: ReadonlySet<string>;
  #clientRoles: ReadonlyMap<string, AdminRole>;
  #crlTimer: NodeJS.Timeout | undefined;
  #pruneTimer: NodeJS.Timeout | undefined;
  #closing: Promise<void> | undefined;

  private constructor({ config, logger, shared }: GatewayOptions) {
    this.#config = config;
    this.#logger = logger;
    this.#shared = shared;
    this.#db = openDatabase(config.dataDir);
    this.#audit = new AuditBuffer(this.#db);
    this.#addressLimits = new AddressLimits(config.limits);
    this.metrics.watchAddressLimits(this.#addressLimits);
    const limitKeys = this.#addressLimits.keys;
    this.#recordDenial = createDenialAudit({ audit: this.#audit, keyOf: (address) => limitKeys.of(address) });
    const replica = shared?.replica;
    this.#replica = replica;
    this.#tls = new TlsMaterial({
      config,
      db: this.#db,
      logger,
      metrics: this.metrics,
      onCrlChange: shared && ((crlNumber) => shared.crlChanged(crlNumber)),
      ...(replica ? { authority: () => replica.state() } : {}),
    });
    const { registry } = this.metrics;
    this.#exposition = shared?.metrics
      ? { metrics: () => shared.metrics!(), contentType: registry.contentType }
      : registry;
    shared?.registerMetrics?.(registry);
    shared?.shareTraffic?.(this.#traffic, () => processLoad(this.#tracker.counts()));
    if (shared) {
      this.#tls.setTicketKeys(shared.ticketKeys);
      shared.onTicketKeys((keys) => this.#tls.setTicketKeys(keys));
    }
    // The watch reads its starting version first, so a change made while the state loads is not missed.
    this.#watch = new ChangeWatch(this.#db, (error) =>
      logger.error({ err: error }, 'store change handling failed'),
    );
    // A replica serves the origin's state from Redis: its own store holds only its audit records.
    const replicated = replica?.state();
    this.#revoked = replica ? (replicated?.revokedSerials ?? new Set()) : revokedSerials(this.#db);
    this.#clientRoles = replica ? (replicated?.roles ?? new Map()) : clientRoles(this.#db);
    this.#tokens = new TokenState(replica ? undefined : this.#db);
    if (replicated) this.#tokens.replace(replicated.jwks, replicatedTokens(replicated));
    this.#localLimiter = shared
      ? undefined
      : new RateLimiter(this.#db, {
          onFlushError: (error) => logger.error({ err: error }, 'quota counts not saved; retrying'),
        });
    this.#limiter = shared?.limiter ?? this.#localLimiter!;
    if (replica) replica.onState((state) => this.#onReplicatedState(state));
    else this.#watch.onChange(() => this.#onStoreChange());
  }

  /**
   * Opens the store, loads TLS material (issuing the CA and auto certificate when missing) and binds every
   * configured listener.
   * @throws on a port in use or unreadable TLS material; nothing is left listening then.
   */
  static async start(options: GatewayOptions): Promise<Gateway> {
    const gateway = new Gateway(options);
    try {
      await gateway.#start();
    } catch (error) {
      await gateway.close(0);
      throw error;
    }
    return gateway;
  }

  async #start() {
    const config = this.#config;
    await this.#tls.load();
    // The primary takes the first CRL a worker serves as the baseline for rotating ticket keys.
    this.#shared?.crlChanged(this.#tls.crlNumber);
    this.#state = this.#buildState(config);
    const recorder = new AccessRecorder(this.#logger, this.metrics);
    const deps = {
      state: () => this.#state,
      logger: this.#logger,
      recorder,
      tracker: this.#tracker,
      credentials: this.#credentials,
    };
    const onExchange = createRequestHandler(deps);
    const onUpgrade = createUpgradeHandler(deps);
    const tls = this.#tls.secureContextOptions();
    // The public and the admin listener differ only in whether the handshake requires a client certificate.
    const serveTls = async (requireClientCertificate: boolean, key: 'https' | 'admin') => {
      const server = createTlsServer({
        tls,
        requireClientCertificate,
        onExchange,
        onUpgrade,
        tracker: this.#tracker,
        limits: config.limits,
        recorder,
        logger: this.#logger,
      });
      this.#tls.attach(server);
      this.#capConnections(server);
      this.#servers.push(server);
      this.addresses[key] = await listen(server, config.listen[key]!, `listen.${key}`);
    };
    await serveTls(false, 'https');
    if (config.listen.admin) await serveTls(true, 'admin');
    if (config.listen.http) {
      const redirect = createPlainServer(
        createRedirectHandler({
          publicUrl: config.publicUrl,
          pipeline: http1Listener(onExchange),
          recorder,
          trustedProxies: () => this.#state.trustedProxies,
        }),
        this.#tracker,
        config.limits,
        this.#logger,
      );
      this.#capConnections(redirect);
      this.#servers.push(redirect);
      this.addresses.http = await listen(redirect, config.listen.http, 'listen.http');
    }
    if (config.listen.metrics) {
      const metricsServer = createPlainServer(
        createMetricsHandler({ registry: this.#exposition, logger: this.#logger }),
        this.#tracker,
        config.limits,
        this.#logger,
      );
      this.#servers.push(metricsServer);
      this.addresses.metrics = await listen(metricsServer, config.listen.metrics, 'listen.metrics');
    }
    this.#tls.watch();
    this.#traffic.start();
    this.#crlTimer = setInterval(() => this.#refreshCrl(), CRL_CHECK_MS);
    this.#crlTimer.unref();
    this.#pruneAudit();
    this.#pruneTimer = setInterval(() => this.#pruneAudit(), AUDIT_PRUNE_MS);
    this.#pruneTimer.unref();
    this.#logger.info({ addresses: this.addresses, dataDir: config.dataDir }, 'mailgate listening');
  }

  #capConnections(server: HttpServer | Http2SecureServer) {
    capConnections(server, this.#addressLimits, () => this.#state.trustedProxies);
  }

  #buildState(config: Config): PipelineState {
    const replica = this.#replica;
    // A replica whose copy of the origin's state is too old refuses rather than decide on it.
    const fresh = replica
      ? (guard: PlaneGuard) => failClosedWhenStale(guard, replica.stale)
      : (g: PlaneGuard) => g;
    const guards: Record<'public' | 'admin' | 'token', PlaneGuard> = {
      public: () => ALLOW,
      admin: fresh(
        createAdminGuard({
          sourceCidrs: new AddressSet(config.admin.sourceCidrs),
          revoked: () => this.#revoked,
          storedRoles: () => this.#clientRoles,
          connectionOf: requestConnection,
          audit: this.#audit,
          recordDenial: this.#recordDenial,
        }),
      ),
      token: fresh(
        createTokenGuard({
          verifier: createTokenVerifier({
            issuer: config.publicUrl,
            audience: config.tokens.audience,
            clockToleranceSeconds: config.tokens.clockToleranceSeconds,
            resolveKey: (kid) => this.#tokens.resolveKey(kid),
          }),
          state: this.#tokens,
          limiter: this.#limiter,
          counters: { tokenRequests: this.metrics.tokenRequests, rateLimited: this.metrics.rateLimited },
        }),
      ),
    };
    const upstreams = new Upstreams(config.upstreams, config.limits);
    // The admin API and console, their dependencies (hono's API routes, zod schemas, certificate issuance)
    // and their store connection are loaded on the first admin request: an idle gateway holds none of them.
    const apiOptions = () => ({
      db: this.#adminDatabase(),
      dataDir: config.dataDir,
      config,
      status: () => ({ upstreams: upstreams.names().map((name) => ({ name, reachable: null })) }),
      // Under workers the primary merges every worker's buckets; one process reads its own.
      traffic: async () =>
        trafficReport(
          await (this.#shared?.traffic?.() ??
            this.#traffic.view({ kind: 'process' }, [
              { worker: null, pid: process.pid, ...processLoad(this.#tracker.counts()) },
            ])),
        ),
    });
    const serveReserved = createReservedApp({
      registry: this.#exposition,
      caPem: () => this.#tls.caPem(),
      crlPem: () => this.#tls.crlPem(),
      jwks: () => this.#tokens.jwks,
      ready: () => !this.#tracker.draining,
      logger: this.#logger,
      publicUrl: config.publicUrl,
      onCrossSiteRefused: ({ reason, target, peer, principal }) => {
        this.metrics.authDenied.inc({ plane: 'admin', reason });
        this.#recordDenial({ client: peer, reason, principal, target });
      },
      // The admin API and console write to the store: a replica has none to write to (404 there).
      adminApi: replica
        ? undefined
        : async () => {
            const { createAdminApi } = await import('../admin/api/index.js');
            return createAdminApi(apiOptions());
          },
      adminConsole: replica
        ? undefined
        : async () => {
            const { createConsole } = await import('../admin/console/app.js');
            return createConsole({
              ...apiOptions(),
              reservedContext: withReservedContext,
              listeners: () => this.#listenerFacts(),
            });
          },
    });
    return {
      routes: new RouteTable(config.routes),
      upstreams,
      guards,
      trustedProxies: new AddressSet(config.trustedProxies),
      addressLimits: this.#addressLimits,
      reservedPath,
      serveReserved,
      hsts: hstsHeader(config.tls.hsts),
      adminListenerOnly: config.admin.listenerOnly,
    };
  }

  /** The admin API's and console's store connection, opened on first use. */
  #adminDatabase(): Database {
    if (this.#closing) throw new Error('the gateway is closing');
    this.#apiDb ??= openDatabase(this.#config.dataDir);
    return this.#apiDb;
  }

  /** The bound listeners, for the console's overview. */
  #listenerFacts() {
    return (['https', 'admin', 'http', 'metrics'] as const).flatMap((name) => {
      const address = this.addresses[name];
      return address ? [{ name, address: address.address, port: address.port }] : [];
    });
  }

  #onStoreChange() {
    this.#revoked = revokedSerials(this.#db);
    this.#clientRoles = clientRoles(this.#db);
    this.#tokens.refresh();
    this.#refreshCrl();
    this.#endRevokedConnections();
  }

  /** A replica read a new state of the origin from Redis: the same steps as a store change. */
  #onReplicatedState(state: ReplicatedState) {
    this.#revoked = state.revokedSerials;
    this.#clientRoles = state.roles;
    this.#tokens.replace(state.jwks, replicatedTokens(state));
    this.#refreshCrl();
    this.#endRevokedConnections();
  }

  /** Closes the open connections and WebSockets of credentials revoked now (docs/security.md rule 4). */
  #endRevokedConnections() {
    const ended = this.#credentials.revoke((credential) =>
      credential.kind === 'certificate'
        ? this.#revoked.has(credential.id)
        : this.#tokens.isRevoked(credential.id),
    );
    for (const { kind, id } of ended)
      this.#logger.info({ kind, id }, 'credential revoked: its connections closed');
  }

  #pruneAudit() {
    try {
      const removed = pruneAudit(this.#db, Date.now() - this.#config.audit.retentionDays * 86_400_000);
      if (removed > 0)
        this.#logger.info(
          { removed, retentionDays: this.#config.audit.retentionDays },
          'audit records pruned',
        );
    } catch (error) {
      this.#logger.error({ err: error }, 'audit pruning failed');
    }
  }

  #refreshCrl() {
    try {
      if (this.#tls.refreshCrl())
        this.#logger.info({ revoked: this.#revoked.size }, 'crl reloaded; tls session tickets rotated');
    } catch (error) {
      this.#logger.error({ err: error }, 'crl refresh failed');
    }
  }

  /**
   * Applies a new configuration (SIGHUP): routes, upstreams, guards, trusted proxies and the certificate
   * files (re-read, following changed paths). Listener addresses and limits need a restart; a change to them is
   * logged and ignored.
   */
  async reload(config: Config): Promise<void> {
    const old = this.#state;
    for (const key of ['listen', 'limits'] as const) {
      if (JSON.stringify(config[key]) !== JSON.stringify(this.#config[key]))
        this.#logger.warn({ key }, `${key} changed: restart mailgate to apply it`);
    }
    this.#tls.reload(config.tls);
    this.#refreshCrl();
    this.#state = this.#buildState(config);
    this.#config = config;
    this.#logger.info({ routes: config.routes.length }, 'configuration reloaded');
    await old.upstreams.close();
  }

  /**
   * Stops accepting, lets in-flight requests finish (up to `drainMs`), then closes everything. Idempotent.
   */
  close(drainMs = this.#config.drainTimeoutMs): Promise<void> {
    this.#closing ??= this.#close(drainMs);
    return this.#closing;
  }

  async #close(drainMs: number) {
    clearInterval(this.#crlTimer);
    clearInterval(this.#pruneTimer);
    this.#credentials.close();
    this.#traffic.close();
    const closed = this.#servers.map(
      (server) => new Promise<void>((resolve) => server.close(() => resolve())),
    );
    await this.#tracker.drain(drainMs);
    await Promise.all(closed);
    await this.#state?.upstreams.destroy();
    this.#watch.close();
    this.#tls.close();
    this.#localLimiter?.close();
    this.#audit.close();
    this.#apiDb?.close();
    this.#db.close();
  }
}

const STALE_STATE: Denied = {
  allowed: false,
  code: 'cluster_unavailable',
  reason: 'cluster_state_stale',
  responseHeaders: { 'retry-after': '5' },
};

/** `guard`, refusing with 503 cluster_unavailable while `stale()` (a replica cut off from Redis too long). */
function failClosedWhenStale(guard: PlaneGuard, stale: () => boolean): PlaneGuard {
  return function staleStateGuard(input) {
    return stale() ? STALE_STATE : guard(input);
  };
}

/** A replica's token statuses: revoked when the origin's set says so. */
function replicatedTokens(state: ReplicatedState): Array<[string, TokenStatus]> {
  return state.tokens.map(({ id, app, limits }) => [
    id,
    { app, limits, revoked: state.revokedTokens.has(id) },
  ]);
}
