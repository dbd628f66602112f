/**
 * @module One worker of `workers: N`: a whole gateway serving every listener, which asks the primary for
 * what the workers share (SharedState over IPC) and answers its metrics collections.
 */
import { Counter, type Registry } from 'prom-client';
import type { ProcessLoad } from '../admin/api/traffic.js';
import { type Limiter, type RateLimitDecision, unavailableRefusal } from '../tokens/rate-limiter.js';
import type { TokenLimits } from '../tokens/token-limits.js';
import { type PrimaryMessage, replicatedStateOf, type WorkerMessage } from './cluster-protocol.js';
import type { ReplicatedState } from './cluster-state.js';
import type { Config } from './config/schema.js';
import { Gateway } from './gateway.js';
import { createLogger, type Logger } from './logger.js';
import { serveUntilStopped } from './serve-loop.js';
import type { ReplicaSource, SharedState } from './shared-state.js';
import type { TrafficView } from './traffic-buckets.js';
import type { TrafficHistory } from './traffic-history.js';

type InitMessage = Extract<PrimaryMessage, { t: 'init' }>;

/**
 * How long a worker waits for the primary's limit decision (kept in memory there: well under a millisecond)
 * before it refuses the request with 503 cluster_unavailable: a stuck primary never holds requests.
 */
export const LIMIT_REPLY_TIMEOUT_MS = 1_000;
/** A scrape through a worker waits for the primary's merge, which itself waits up to 2 s for the workers. */
export const METRICS_REPLY_TIMEOUT_MS = 3_000;
/** The console's traffic view waits for the primary, which itself waits up to 1 s for the workers. */
export const TRAFFIC_REPLY_TIMEOUT_MS = 3_000;
/** How often open questions are checked against their deadline while any is open. */
const SWEEP_MS = 100;
/** Retry-After of a request refused because the primary did not answer. */
const UNANSWERED_RETRY_S = 1;

/** A question to the primary waiting for its reply. */
interface PendingReply {
  kind: 'limit' | 'metrics' | 'traffic';
  resolve: (value: never) => void;
  reject: (error: Error) => void;
  /** Settles the question without the primary: past its deadline, or with the primary gone. */
  giveUp: (why: string) => void;
  deadline: number;
}

export interface WorkerLinkOptions {
  /** This worker's index (0..workers-1), as the primary numbers it. */
  index?: number;
  /** The shared ticket keys from the init message (hex). */
  ticketKeysHex: string;
  send: (message: WorkerMessage) => void;
  logger: Pick<Logger, 'error' | 'info'>;
  /** On a replica (cluster.replica), its staleness bound; undefined elsewhere. */
  replicaMaxStalenessMs?: number | undefined;
  /** Clock, epoch ms; default Date.now. */
  now?: () => number;
}

/**
 * The worker's side of SharedState: every call is a message to the primary. A question the primary leaves
 * unanswered past its deadline fails closed: a limit check is refused (503 cluster_unavailable), a scrape
 * fails; each is counted and the outage logged once, with its end.
 */
export class WorkerLink implements SharedState {
  ticketKeys: Buffer;
  readonly #send: (message: WorkerMessage) => void;
  readonly #logger: Pick<Logger, 'error' | 'info'>;
  readonly #now: () => number;
  readonly #pending = new Map<number, PendingReply>();
  readonly #keyListeners: Array<(keys: Buffer) => void> = [];
  #registry: Registry | undefined;
  #unanswered: Counter<'question'> | undefined;
  /** Since when the primary has left questions unanswered, and how many; undefined while it answers. */
  #outage: { since: number; unanswered: number } | undefined;
  #sweeper: NodeJS.Timeout | undefined;
  #nextId = 1;
  #closed = false;
  readonly #index: number;
  #traffic: TrafficHistory | undefined;
  #load: (() => ProcessLoad) | undefined;
  /** A replica's worker: the origin's state as the primary read it from Redis, and since when current. */
  #replicated: ReplicatedState | undefined;
  #freshAt = 0;
  readonly #stateListeners: Array<(state: ReplicatedState) => void> = [];
  readonly replica: ReplicaSource | undefined;

  constructor({
    index = 0,
    ticketKeysHex,
    send,
    logger,
    replicaMaxStalenessMs,
    now = Date.now,
  }: WorkerLinkOptions) {
    this.#index = index;
    this.ticketKeys = Buffer.from(ticketKeysHex, 'hex');
    this.#send = send;
    this.#logger = logger;
    this.#now = now;
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
      this.#ask<RateLimitDecision>(
        'limit',
        LIMIT_REPLY_TIMEOUT_MS,
        (id) => ({ t: 'limit', id, tokenId, limits }),
        (resolve) => resolve(unavailableRefusal(limits, UNANSWERED_RETRY_S)),
      ),
  };

  onTicketKeys(listener: (keys: Buffer) => void): void {
    this.#keyListeners.push(listener);
  }

  crlChanged(crlNumber: number): void {
    this.#send({ t: 'crl', number: crlNumber });
  }

  metrics(): Promise<string> {
    return this.#ask<string>(
      'metrics',
      METRICS_REPLY_TIMEOUT_MS,
      (id) => ({ t: 'metrics', id }),
      (_, reject, why) => reject(new Error(`primary: ${why}`)),
    );
  }

  /**
   * This worker's traffic: each closed bucket goes to the primary, which asks for the filling one and
   * this worker's `load` when the console reads.
   */
  shareTraffic(history: TrafficHistory, load: () => ProcessLoad): void {
    this.#traffic = history;
    this.#load = load;
    history.onBucket((bucket) => this.#send({ t: 'traffic-bucket', bucket }));
  }

  /**
   * The whole gateway's traffic as the primary merged it. When the primary does not answer in time, this
   * worker's own, said so in its scope: the console shows what it can rather than an error.
   */
  async traffic(): Promise<TrafficView> {
    const own = () =>
      this.#traffic!.view({ kind: 'worker', worker: this.#index }, [
        { worker: this.#index, pid: process.pid, ...this.#load!() },
      ]);
    try {
      return await this.#ask<TrafficView>(
        'traffic',
        TRAFFIC_REPLY_TIMEOUT_MS,
        (id) => ({ t: 'traffic', id }),
        (_, reject, why) => reject(new Error(`primary: ${why}`)),
      );
    } catch {
      return own();
    }
  }

  /** This worker's registry: handed to the primary's collections, and where unanswered questions count. */
  registerMetrics(registry: Registry): void {
    this.#registry = registry;
    this.#unanswered = new Counter({
      name: 'mailgate_primary_unanswered_total',
      help: 'Questions a worker asked the primary that got no answer in time (limit: the token request was refused with 503).',
      labelNames: ['question'],
      registers: [registry],
    });
  }

  /** Handles one message from the primary; returns false for those it does not know (reload, init). */
  receive(message: PrimaryMessage): boolean {
    switch (message.t) {
      case 'reply': {
        if (this.#outage) this.#endOutage();
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
      case 'collect-traffic': {
        const id = message.id;
        // A history that cannot be read answers nothing: the primary counts this worker as missing.
        this.#traffic?.current().then(
          (bucket) => this.#send({ t: 'collected-traffic', id, bucket, load: this.#load!() }),
          () => {},
        );
        return true;
      }
      default:
        return false;
    }
  }

  /**
   * Settles every question past its deadline without the primary. Runs every SWEEP_MS while questions are
   * open; public so a test with an injected clock can run it.
   */
  sweep(): void {
    const now = this.#now();
    for (const [id, pending] of this.#pending) {
      if (pending.deadline > now) continue;
      this.#pending.delete(id);
      this.#unanswered?.inc({ question: pending.kind });
      if (!this.#outage) {
        this.#outage = { since: now, unanswered: 0 };
        this.#logger.error(
          { question: pending.kind },
          'the primary did not answer in time: token requests are refused with 503 cluster_unavailable until it does',
        );
      }
      this.#outage.unanswered++;
      pending.giveUp('no answer in time');
    }
    if (this.#pending.size === 0) {
      clearInterval(this.#sweeper);
      this.#sweeper = undefined;
    }
  }

  /** The primary is gone: every open question is settled without it, and no new one is asked. */
  close(): void {
    this.#closed = true;
    clearInterval(this.#sweeper);
    this.#sweeper = undefined;
    for (const pending of this.#pending.values()) pending.giveUp('disconnected');
    this.#pending.clear();
  }

  #endOutage() {
    const { since, unanswered } = this.#outage!;
    this.#outage = undefined;
    this.#logger.info({ unanswered, forMs: this.#now() - since }, 'the primary answers again');
  }

  /** Sends one question. `giveUp` settles it when the primary does not answer in `timeoutMs` or is gone. */
  #ask<T>(
    kind: PendingReply['kind'],
    timeoutMs: number,
    message: (id: number) => WorkerMessage,
    giveUp: (resolve: (value: T) => void, reject: (error: Error) => void, why: string) => void,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.#closed) {
        giveUp(resolve, reject, 'disconnected');
        return;
      }
      const id = this.#nextId++;
      this.#pending.set(id, {
        kind,
        resolve: resolve as (value: never) => void,
        reject,
        giveUp: (why) => giveUp(resolve, reject, why),
        deadline: this.#now() + timeoutMs,
      });
      this.#sweeper ??= setInterval(() => this.sweep(), SWEEP_MS).unref();
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
  let config: Config = init.config;
  const logger = createLogger({ level: config.log.level, worker: init.index });
  const { cluster } = config;
  const link = new WorkerLink({
    index: init.index,
    ticketKeysHex: init.ticketKeys,
    send,
    logger,
    replicaMaxStalenessMs: cluster.replica ? cluster.maxStalenessMs : undefined,
  });
  // Listening from here on: ticket keys rotated while the gateway starts must not be lost.
  let reload = () => {};
  process.on('message', (message: PrimaryMessage) => {
    if (link.receive(message) || message.t !== 'reload') return;
    config = message.config;
    reload();
  });
  const gateway = await Gateway.start({ config, logger, shared: link });
  const loop = serveUntilStopped(gateway, logger, () => config);
  reload = loop.reload;
  process.once('disconnect', () => link.close());
  send({ t: 'ready', addresses: gateway.addresses });
  await loop.stopped;
  logger.info('stopped');
  logger.flush();
  return 0;
}
