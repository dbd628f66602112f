/**
 * @module One worker of `workers: N`: a whole gateway serving every listener, which asks the primary for
 * what the workers share (SharedState over IPC) and answers its metrics collections.
 */
import type { Registry } from 'prom-client';
import type { Limiter, RateLimitDecision } from '../tokens/rate-limiter.js';
import type { TokenLimits } from '../tokens/token-limits.js';
import { type PrimaryMessage, replicatedStateOf, type WorkerMessage } from './cluster-protocol.js';
import type { ReplicatedState } from './cluster-state.js';
import type { Config } from './config/schema.js';
import { Gateway } from './gateway.js';
import { createLogger } from './logger.js';
import { serveUntilStopped } from './serve-loop.js';
import type { ReplicaSource, SharedState } from './shared-state.js';

type InitMessage = Extract<PrimaryMessage, { t: 'init' }>;

/** A question to the primary waiting for its reply. */
interface PendingReply {
  resolve: (value: never) => void;
  reject: (error: Error) => void;
}

/** The worker's side of SharedState: every call is a message to the primary. */
export class WorkerLink implements SharedState {
  ticketKeys: Buffer;
  readonly #send: (message: WorkerMessage) => void;
  readonly #pending = new Map<number, PendingReply>();
  readonly #keyListeners: Array<(keys: Buffer) => void> = [];
  #registry: Registry | undefined;
  #nextId = 1;
  #closed = false;
  /** A replica's worker: the origin's state as the primary read it from Redis, and since when current. */
  #replicated: ReplicatedState | undefined;
  #freshAt = 0;
  readonly #stateListeners: Array<(state: ReplicatedState) => void> = [];
  readonly replica: ReplicaSource | undefined;

  /** `replicaMaxStalenessMs`: on a replica (cluster.replica), its staleness bound; undefined elsewhere. */
  constructor(ticketKeysHex: string, send: (message: WorkerMessage) => void, replicaMaxStalenessMs?: number) {
    this.ticketKeys = Buffer.from(ticketKeysHex, 'hex');
    this.#send = send;
    if (replicaMaxStalenessMs !== undefined)
      this.replica = {
        state: () => this.#replicated,
        onState: (listener) => this.#stateListeners.push(listener),
        stale: () => !this.#replicated || Date.now() - this.#freshAt > replicaMaxStalenessMs,
        freshAt: () => this.#freshAt,
      };
  }

  readonly limiter: Limiter = {
    check: (tokenId: string, limits: TokenLimits) =>
      this.#ask<RateLimitDecision>((id) => ({ t: 'limit', id, tokenId, limits })),
  };

  onTicketKeys(listener: (keys: Buffer) => void): void {
    this.#keyListeners.push(listener);
  }

  crlChanged(crlNumber: number): void {
    this.#send({ t: 'crl', number: crlNumber });
  }

  metrics(): Promise<string> {
    return this.#ask<string>((id) => ({ t: 'metrics', id }));
  }

  /** The registry whose metrics this worker hands to the primary's collections. */
  collectFrom(registry: Registry): void {
    this.#registry = registry;
  }

  /** Handles one message from the primary; returns false for those it does not know (reload, init). */
  receive(message: PrimaryMessage): boolean {
    switch (message.t) {
      case 'reply': {
        const pending = this.#pending.get(message.id);
        if (!pending) return true;
        this.#pending.delete(message.id);
        if (message.error !== undefined) pending.reject(new Error(`primary: ${message.error}`));
        else pending.resolve(message.value as never);
        return true;
      }
      case 'replica-state': {
        const state = replicatedStateOf(message.state);
        this.#replicated = state;
        this.#freshAt = message.freshAt;
        for (const listener of this.#stateListeners) listener(state);
        return true;
      }
      case 'replica-fresh':
        this.#freshAt = message.freshAt;
        return true;
      case 'ticket-keys':
        this.ticketKeys = Buffer.from(message.ticketKeys, 'hex');
        for (const listener of this.#keyListeners) listener(this.ticketKeys);
        return true;
      case 'collect-metrics': {
        const id = message.id;
        (this.#registry?.getMetricsAsJSON() ?? Promise.resolve([])).then(
          (metrics) => this.#send({ t: 'collected-metrics', id, metrics }),
          () => this.#send({ t: 'collected-metrics', id, metrics: [] }),
        );
        return true;
      }
      default:
        return false;
    }
  }

  /** The primary is gone: every open question fails (the request answers 500) and no new one is asked. */
  close(): void {
    this.#closed = true;
    for (const pending of this.#pending.values()) pending.reject(new Error('primary: disconnected'));
    this.#pending.clear();
  }

  #ask<T>(message: (id: number) => WorkerMessage): Promise<T> {
    if (this.#closed) return Promise.reject(new Error('primary: disconnected'));
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (value: never) => void, reject });
      this.#send(message(id));
    });
  }
}

/**
 * Asks the primary for the init message. Messages that arrive before a 'message' listener exists are
 * dropped, so the worker says hello once it listens rather than the primary sending at fork time.
 */
function initMessage(send: (message: WorkerMessage) => void): Promise<InitMessage> {
  return new Promise((resolve) => {
    const onMessage = (message: PrimaryMessage) => {
      if (message.t !== 'init') return;
      process.off('message', onMessage);
      resolve(message);
    };
    process.on('message', onMessage);
    send({ t: 'hello' });
  });
}

/**
 * Runs this worker until SIGTERM (sent by the primary's drain) and returns its exit code.
 * @throws MailgateError when the gateway cannot start (bad configuration, port in use).
 */
export async function runWorker(): Promise<number> {
  const send = (message: WorkerMessage) => {
    if (process.connected) process.send!(message);
  };
  const init = await initMessage(send);
  const { cluster } = init.config;
  const link = new WorkerLink(init.ticketKeys, send, cluster.replica ? cluster.maxStalenessMs : undefined);
  // Listening from here on: ticket keys rotated while the gateway starts must not be lost.
  let config: Config = init.config;
  let reload = () => {};
  process.on('message', (message: PrimaryMessage) => {
    if (link.receive(message) || message.t !== 'reload') return;
    config = message.config;
    reload();
  });
  const logger = createLogger({ level: config.log.level, worker: init.index });
  const gateway = await Gateway.start({ config, logger, shared: link });
  link.collectFrom(gateway.metrics.registry);
  const loop = serveUntilStopped(gateway, logger, () => config);
  reload = loop.reload;
  process.once('disconnect', () => link.close());
  send({ t: 'ready', addresses: gateway.addresses });
  await loop.stopped;
  logger.info('stopped');
  logger.flush();
  return 0;
}
