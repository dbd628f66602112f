/**
 * @module The link of one gateway node (its only process, or the primary of its workers) to the Redis that
 * several nodes share (`cluster.redis`): token limits and quotas (gateway/redis-limiter.ts), the TLS session
 * ticket keys every node serves, and the health that bounds how long the send and admin planes may go on
 * without Redis. ioredis: Lua scripts through defineCommand (EVALSHA, reloaded after NOSCRIPT), pub/sub,
 * reconnects by itself; its offline queue is off so that no command waits while Redis is away.
 * Loaded only when `cluster.redis` is set.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { Counter, Gauge, type Registry } from 'prom-client';
import { STATE_KEYS, StatePublisher } from './cluster-publisher.js';
import { type ReplicatedState, readState } from './cluster-state.js';
import { parseRedisUrl } from './config/schema.js';
import type { Logger } from './logger.js';
import { RedisLimiter, withLimitScript } from './redis-limiter.js';
import type { ReplicaSource, SharedState } from './shared-state.js';

/** Keys and the channel of what the nodes share (besides the limiter's, in redis-limiter.ts). */
export const KEYS = {
  /** Changes whenever what follows changes: a node reads the rest only then. */
  version: 'mailgate:version',
  /** 48 bytes as 96 hex digits: the TLS session ticket keys of every node. */
  ticketKeys: 'mailgate:tls-ticket-keys',
  /** Pub/sub: "something changed". The message's content is never read (a forged one only causes a read). */
  changes: 'mailgate:changes',
} as const;

/** How often a node asks for the version (besides pub/sub): also its heartbeat for the staleness bound. */
export const POLL_MS = 500;
/** A command Redis does not answer within this fails (a stopped Redis must not hold requests). */
const COMMAND_TIMEOUT_MS = 500;
const CONNECT_TIMEOUT_MS = 2_000;
/** Longest pause between reconnection attempts. */
const RECONNECT_MAX_MS = 2_000;

export interface RedisClusterOptions {
  url: string;
  maxStalenessMs: number;
  logger: Logger;
  /**
   * The node whose store is the system of record publishes it (every node without cluster.replica); a
   * replica instead reads what it serves (CA, CRL, keys, tokens, revocations) from Redis.
   */
  role: { origin: { dataDir: string } } | 'replica';
  now?: () => number;
}

/** Least time between two log lines about failures of one operation (each is still counted). */
const FAILURE_LOG_MS = 10_000;
/** Every this many polls an origin checks that Redis still holds what its store says (and rewrites it). */
const REPUBLISH_EVERY_POLLS = 20;

/** 96 hex digits, the only ticket keys a node accepts from Redis. */
const TICKET_KEYS_HEX = /^[0-9a-f]{96}$/;

/** Options shared by both connections: fail fast, reconnect forever with a capped backoff. */
function clientOptions(url: string) {
  const parts = parseRedisUrl(url);
  if (!parts) throw new TypeError('cluster.redis is not a Redis URL');
  return {
    host: parts.host,
    port: parts.port,
    db: parts.db,
    ...(parts.username ? { username: parts.username } : {}),
    ...(parts.password ? { password: parts.password } : {}),
    ...(parts.tls ? { tls: { servername: parts.host } } : {}),
    enableOfflineQueue: false,
    // Limit calls made in the same tick go out as one write (many requests in flight, one syscall).
    enableAutoPipelining: true,
    maxRetriesPerRequest: 0,
    commandTimeout: COMMAND_TIMEOUT_MS,
    connectTimeout: CONNECT_TIMEOUT_MS,
    retryStrategy: (attempt: number) => Math.min(100 * attempt, RECONNECT_MAX_MS),
    lazyConnect: false,
  };
}

/**
 * Connects (waiting up to `waitMs` for a first answer) and starts polling. Never fails for an unreachable
 * Redis: the node serves its public plane and fails the others closed until Redis answers.
 * @example const cluster = await connectCluster({ url: config.cluster.redis, maxStalenessMs, logger });
 */
export async function connectCluster(options: RedisClusterOptions, waitMs = 2_000): Promise<RedisCluster> {
  const cluster = new RedisCluster(options);
  if (!(await cluster.contact(waitMs)))
    options.logger.warn('redis not reachable yet: the send and admin planes wait for it');
  return cluster;
}

/**
 * One node's share of the cluster. Start with `connectCluster`; the node starts even when Redis is down
 * (the public plane never waits for it).
 */
export class RedisCluster implements SharedState {
  readonly limiter: RedisLimiter;
  ticketKeys: Buffer = randomBytes(48);
  readonly #options: RedisClusterOptions;
  readonly #now: () => number;
  readonly #redis: ReturnType<typeof withLimitScript>;
  readonly #subscriber: Redis;
  readonly #keyListeners: Array<(keys: Buffer) => void> = [];
  readonly #timer: NodeJS.Timeout;
  readonly #up: Gauge;
  readonly #errors: Counter<'op'>;
  /** Epoch ms of the last answer from Redis; 0 = never. */
  #lastContact = 0;
  /** The version whose ticket keys this node serves. */
  #version: string | undefined;
  #reading: Promise<void> | undefined;
  #readAgain = false;
  /** Starts true: a node that never reaches Redis logs it once, when the bound has passed. */
  #wasUp = true;
  #closed = false;
  readonly #publisher: StatePublisher | undefined;
  /** Replica: the origin's state as last read, when it was read, and who follows it. */
  #replicated: ReplicatedState | undefined;
  #replicatedAt = 0;
  readonly #stateListeners: Array<(state: ReplicatedState) => void> = [];
  #polls = 0;
  /** Whether the last read of the state was accepted (a refused one does not count as fresh). */
  #replicaReadOk = false;

  constructor(options: RedisClusterOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    const base = clientOptions(options.url);
    this.#redis = withLimitScript(new Redis(base));
    this.#subscriber = new Redis(base);
    // ioredis reports every failed attempt; the up/down transition is logged once in #health instead.
    this.#redis.on('error', () => {});
    this.#subscriber.on('error', () => {});
    this.#redis.on('ready', () => this.#onReady());
    this.#subscriber.on('ready', () => {
      this.#subscriber.subscribe(KEYS.changes).catch((error: unknown) => this.#failed('subscribe', error));
    });
    this.#subscriber.on('message', () => this.#read());
    const registers: Registry[] = [];
    this.#up = new Gauge({
      name: 'mailgate_redis_up',
      help: 'Whether Redis (cluster.redis) answered this node within cluster.maxStalenessMs (1) or not (0).',
      registers,
      collect: () => this.#up.set(this.reachable() ? 1 : 0),
    });
    this.#errors = new Counter({
      name: 'mailgate_redis_errors_total',
      help: 'Redis commands that failed or answered something unexpected, by operation.',
      labelNames: ['op'],
      registers,
    });
    this.limiter = new RedisLimiter({
      redis: this.#redis,
      maxStalenessMs: options.maxStalenessMs,
      lastContact: () => this.#lastContact,
      contacted: () => this.#contacted(),
      onFailure: (error) => this.#failed('limit', error),
      now: this.#now,
    });
    if (options.role !== 'replica')
      this.#publisher = new StatePublisher({
        redis: this.#redis,
        dataDir: options.role.origin.dataDir,
        keys: KEYS,
        onError: (op, error) => this.#failed(op, error),
        onPublished: ({ rotated, revoked }) => {
          if (rotated)
            options.logger.info(
              { revoked },
              'revocations changed: tls session tickets rotated on every node',
            );
        },
      });
    this.#timer = setInterval(() => this.#poll(), POLL_MS);
    this.#timer.unref();
  }

  /**
   * A replica's source: the origin's state as last read from Redis. Stale (the send and admin planes fail
   * closed) after no good read for cluster.maxStalenessMs, or before the first.
   */
  get replica(): ReplicaSource | undefined {
    if (this.#options.role !== 'replica') return undefined;
    this.#replicaSource ??= {
      state: () => this.#replicated,
      onState: (listener) => this.#stateListeners.push(listener),
      stale: () => !this.#replicated || this.#now() - this.#replicatedAt > this.#options.maxStalenessMs,
      freshAt: () => (this.#replicated ? this.#replicatedAt : 0),
    };
    return this.#replicaSource;
  }

  #replicaSource: ReplicaSource | undefined;

  /** Adds this link's metrics to the registry this node exposes (its own, or its primary's). */
  registerMetrics(registry: Registry): void {
    registry.registerMetric(this.#up);
    registry.registerMetric(this.#errors);
  }

  /** Whether Redis answered within cluster.maxStalenessMs. */
  reachable(): boolean {
    return this.#lastContact > 0 && this.#now() - this.#lastContact <= this.#options.maxStalenessMs;
  }

  onTicketKeys(listener: (keys: Buffer) => void): void {
    this.#keyListeners.push(listener);
  }

  /**
   * This node serves a newer CRL. An origin publishes it, which rotates every node's ticket keys together
   * (docs/security.md rule 4); a replica's CRL comes from Redis, rotated by the origin.
   */
  crlChanged(_crlNumber: number): void {
    this.#publisher?.publish();
  }

  /** After a (re)connection: keys are created when Redis has none (a new or emptied Redis), then read. */
  #onReady() {
    this.#publisher?.publish();
    this.#redis
      .set(KEYS.ticketKeys, this.ticketKeys.toString('hex'), 'NX')
      .then((created) => {
        if (created) return this.#redis.set(KEYS.version, randomBytes(12).toString('hex'));
        return undefined;
      })
      .then(
        () => this.#read(),
        (error: unknown) => this.#failed('init', error),
      );
  }

  #poll() {
    if (this.#closed) return;
    if (++this.#polls % REPUBLISH_EVERY_POLLS === 0) this.#publisher?.publish();
    this.#redis.get(KEYS.version).then(
      (version) => {
        this.#contacted();
        if (version === null) this.#onReady();
        else if (version !== this.#version) this.#read();
        // The state read last is still the current one.
        else if (this.#replicated && this.#replicaReadOk) this.#replicatedAt = this.#now();
      },
      (error: unknown) => this.#failed('poll', error),
    );
    this.#health();
  }

  /** Reads the shared state; one read at a time, and one more if asked meanwhile (a flood is one read). */
  #read(): void {
    if (this.#closed) return;
    if (this.#reading) {
      this.#readAgain = true;
      return;
    }
    this.#reading = this.#readOnce()
      .catch((error: unknown) => this.#failed('read', error))
      .finally(() => {
        this.#reading = undefined;
        if (this.#readAgain) {
          this.#readAgain = false;
          this.#read();
        }
      });
  }

  async #readOnce() {
    const replica = this.#options.role === 'replica';
    // Only an accepted read counts as fresh; one that fails on its way must not leave the flag set.
    this.#replicaReadOk = false;
    const read = this.#redis.multi().get(KEYS.version).get(KEYS.ticketKeys);
    if (replica) read.get(STATE_KEYS.state).smembers(STATE_KEYS.revoked);
    const results = await read.exec();
    if (!results || results.some(([error]) => error)) throw results?.find(([error]) => error)?.[0];
    this.#contacted();
    const [version, keysHex, document, members] = results.map(([, value]) => value);
    if (replica) {
      const state = readState(document, members);
      this.#replicaReadOk = state.ok;
      if (state.ok) {
        this.#replicated = state.state;
        this.#replicatedAt = this.#now();
        for (const listener of this.#stateListeners) listener(state.state);
      } else this.#failed('read', new Error(`${state.problem}; last state kept`));
    }
    if (typeof keysHex !== 'string' || !TICKET_KEYS_HEX.test(keysHex)) {
      this.#failed('read', new Error(`${KEYS.ticketKeys} does not hold 96 hex digits; keys kept`));
    } else {
      const keys = Buffer.from(keysHex, 'hex');
      if (!keys.equals(this.ticketKeys)) this.#applyKeys(keys);
    }
    this.#version = typeof version === 'string' ? version : undefined;
  }

  #applyKeys(keys: Buffer) {
    this.ticketKeys = keys;
    for (const listener of this.#keyListeners) listener(keys);
  }

  #contacted() {
    this.#lastContact = this.#now();
  }

  /** Counts every failure; logs the same failure once per FAILURE_LOG_MS (a dead Redis fails twice a second). */
  #failed(op: string, error: unknown) {
    this.#errors.inc({ op });
    if (op === 'poll' || op === 'limit') return;
    const now = this.#now();
    const err = (error as Error)?.message ?? String(error);
    const key = `${op}\u0000${err}`;
    if (now - (this.#loggedAt.get(key) ?? Number.NEGATIVE_INFINITY) < FAILURE_LOG_MS) return;
    if (this.#loggedAt.size > 100) this.#loggedAt.clear();
    this.#loggedAt.set(key, now);
    this.#options.logger.warn({ op, err }, 'redis call failed');
  }

  readonly #loggedAt = new Map<string, number>();

  /** Logs the transitions between reachable and not, once each. */
  #health() {
    const up = this.reachable();
    if (up === this.#wasUp) return;
    this.#wasUp = up;
    if (up) this.#options.logger.info('redis reachable: shared limits and state in use');
    else
      this.#options.logger.error(
        { maxStalenessMs: this.#options.maxStalenessMs },
        'redis unreachable past cluster.maxStalenessMs: the send and admin planes fail closed',
      );
  }

  /** Resolves once Redis answered, or after `timeoutMs` (a node starts without Redis, failing closed). */
  async contact(timeoutMs: number): Promise<boolean> {
    const deadline = this.#now() + timeoutMs;
    while (!this.reachable() && this.#now() < deadline && !this.#closed)
      await new Promise((resolve) => setTimeout(resolve, 50));
    return this.reachable();
  }

  /** Stops polling and closes both connections. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    this.#publisher?.close();
    await Promise.allSettled([this.#redis.quit(), this.#subscriber.quit()]);
    this.#redis.disconnect();
    this.#subscriber.disconnect();
  }
}
