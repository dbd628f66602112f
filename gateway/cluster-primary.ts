/**
 * @module The primary of `workers: N`: forks the workers (every one serves every listener), owns what they
 * share (token limits and quotas, TLS ticket keys, the merged metrics and traffic history), restarts a crashed worker with
 * backoff, forwards SIGHUP as a reload and SIGTERM as a drain. It serves no request itself.
 */
import nodeCluster, { type Worker } from 'node:cluster';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { AggregatorRegistry, Counter, Gauge, Registry } from 'prom-client';
import type { ProcessFigures } from '../admin/api/traffic.js';
import { MailgateError } from '../lib/errors.js';
import { openDatabase } from '../store/database.js';
import { type Limiter, RateLimiter } from '../tokens/rate-limiter.js';
import {
  drainExitCode,
  exitReason,
  nextCrashCount,
  type PrimaryMessage,
  replicatedStateMessage,
  restartDelayMs,
  type WorkerExit,
  type WorkerMessage,
  workerMessageOf,
} from './cluster-protocol.js';
import { loadConfig } from './config/load.js';
import type { Config } from './config/schema.js';
import type { GatewayAddresses } from './gateway.js';
import { createLogger, type Logger } from './logger.js';
import type { RedisCluster } from './redis-cluster.js';
import { connectSharedCluster } from './shared-state.js';
import type { TrafficBucket, TrafficView } from './traffic-buckets.js';
import { processLoad, TrafficStore } from './traffic-history.js';

/** How long a scrape waits for the workers' metrics before it answers with those that came. */
const COLLECT_TIMEOUT_MS = 2_000;
/** How long the console's traffic view waits for the workers' filling buckets before it answers without. */
const TRAFFIC_COLLECT_TIMEOUT_MS = 1_000;
/**
 * A merged traffic view is served again for this long after it was made: a console polled fast (many tabs,
 * a script) costs one collection per second at most, not one per request.
 */
const TRAFFIC_VIEW_CACHE_MS = 1_000;
/** How often a replica's primary tells its workers how current their state still is. */
const REPLICA_FRESH_MS = 500;
/** Past the workers' own drain budget, how long the primary waits before it kills them. */
const DRAIN_GRACE_MS = 5_000;

export interface PrimaryOptions {
  config: Config;
  configPath: string | undefined;
  env: NodeJS.ProcessEnv;
  workers: number;
}

export interface RunningPrimary {
  /** The first worker's listener addresses (every worker shares them). */
  addresses: GatewayAddresses;
  /** Resolves with the exit code once a stop signal came and every worker has exited. */
  stopped: Promise<number>;
}

/** One worker position: its current process, and how often it crashed in a row. */
interface Slot {
  index: number;
  worker: Worker | undefined;
  startedAt: number;
  ready: boolean;
  crashes: number;
  restartTimer: NodeJS.Timeout | undefined;
  /** A message of the wrong shape from this slot's current process was logged already. */
  refusedLogged: boolean;
}

/** One process's metrics as prom-client's getMetricsAsJSON gives them. */
type ProcessMetrics = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

/** A collection in progress (a scrape, a traffic view): the answers so far by worker index, and who owes one. */
interface Collection {
  kind: 'metrics' | 'traffic';
  answers: Map<number, unknown>;
  /** Worker ids still to answer, with their slot's index. */
  waiting: Map<number, number>;
  finish: () => void;
}

/** A worker's answer to a traffic collection: its filling bucket (dropped once it sent it closed) and its load. */
interface TrafficAnswer {
  bucket: TrafficBucket | undefined;
  figures: ProcessFigures;
}

/** What a collection gathered: the answers by worker index, and the indexes of the workers that gave none. */
interface Collected {
  answers: Map<number, unknown>;
  missing: number[];
}

/**
 * Starts the workers one after the other's readiness for the first (it may create the CA and the store),
 * then the rest together.
 * @throws MailgateError when a worker fails to start (its own error is on stderr); no worker is left running.
 */
export async function startPrimary(options: PrimaryOptions): Promise<RunningPrimary> {
  const cluster = await connectSharedCluster(
    options.config,
    createLogger({ level: options.config.log.level }),
  );
  let primary: Primary;
  try {
    primary = new Primary(options, cluster);
  } catch (error) {
    await cluster?.close();
    throw error;
  }
  try {
    const addresses = await primary.start();
    return { addresses, stopped: primary.stopped };
  } catch (error) {
    await primary.stop('SIGTERM');
    throw error;
  }
}

class Primary {
  readonly #options: PrimaryOptions;
  /** The configuration every worker runs: the last one read and validated (start, SIGHUP). */
  #config: Config;
  readonly #logger: Logger;
  readonly #db;
  /** The workers' limiter: this process's, or (with cluster.redis) the one every node shares. */
  readonly #limiter: Limiter;
  readonly #localLimiter: RateLimiter | undefined;
  /** The link to the other nodes (cluster.redis): it holds the ticket keys and the limits then. */
  readonly #cluster: RedisCluster | undefined;
  readonly #slots: Slot[];
  readonly #registry = new Registry();
  readonly #restarts: Counter<'reason'>;
  readonly #running: Gauge;
  readonly #refusedMessages: Counter;
  readonly #collections = new Map<number, Collection>();
  #nextCollection = 1;
  /** Every worker's closed traffic buckets, summed: a worker's past stays after it died. */
  readonly #traffic = new TrafficStore();
  /** The last merged traffic view, and until when it is served again (Infinity while it is being made). */
  #trafficView: Promise<TrafficView> | undefined;
  #trafficViewUntil = 0;
  #ticketKeys: Buffer = randomBytes(48);
  #freshTimer: NodeJS.Timeout | undefined;
  /** The newest CRL a worker reported; -1 until the first report. */
  #crlNumber = -1;
  #stopping: Promise<number> | undefined;
  /** Set once every worker served: before that, a worker that dies fails the start instead. */
  #started = false;
  #resolveStopped!: (code: number) => void;
  readonly stopped = new Promise<number>((resolve) => {
    this.#resolveStopped = resolve;
  });

  constructor(options: PrimaryOptions, cluster: RedisCluster | undefined) {
    this.#options = options;
    this.#config = options.config;
    this.#logger = createLogger({ level: options.config.log.level });
    this.#db = openDatabase(options.config.dataDir);
    this.#cluster = cluster;
    this.#localLimiter = cluster
      ? undefined
      : new RateLimiter(this.#db, {
          onFlushError: (error) => this.#logger.error({ err: error }, 'quota counts not saved; retrying'),
        });
    this.#limiter = cluster?.limiter ?? this.#localLimiter!;
    if (cluster) {
      this.#ticketKeys = cluster.ticketKeys;
      cluster.onTicketKeys((keys) => this.#broadcastTicketKeys(keys));
      const replica = cluster.replica;
      if (replica) {
        // The workers serve the origin's state this primary reads from Redis: each new state, and how
        // current it still is (their staleness bound counts from it).
        replica.onState(() => this.#broadcast(this.#replicaStateMessage()!));
        this.#freshTimer = setInterval(
          () => this.#broadcast({ t: 'replica-fresh', freshAt: replica.freshAt() }),
          REPLICA_FRESH_MS,
        );
        this.#freshTimer.unref();
      }
    }
    this.#slots = Array.from({ length: options.workers }, (_, index) => ({
      index,
      worker: undefined,
      startedAt: 0,
      ready: false,
      crashes: 0,
      restartTimer: undefined,
      refusedLogged: false,
    }));
    const registers = [this.#registry];
    cluster?.registerMetrics(this.#registry);
    this.#restarts = new Counter({
      name: 'mailgate_worker_restarts_total',
      help: 'Gateway workers restarted after they died, by reason (signal, error exit, clean exit).',
      labelNames: ['reason'],
      registers,
    });
    this.#refusedMessages = new Counter({
      name: 'mailgate_worker_messages_refused_total',
      help: 'Messages from a worker to the primary dropped for their shape (a bug or a compromised worker).',
      registers,
    });
    this.#running = new Gauge({
      name: 'mailgate_workers',
      help: 'Gateway worker processes serving requests.',
      registers,
      collect: () => this.#running.set(this.#slots.filter((slot) => slot.ready).length),
    });
    nodeCluster.setupPrimary({ exec: fileURLToPath(new URL('./worker-main.js', import.meta.url)), args: [] });
  }

  async start(): Promise<GatewayAddresses> {
    const [first, ...rest] = this.#slots;
    const addresses = await this.#fork(first!);
    await Promise.all(rest.map((slot) => this.#fork(slot)));
    this.#started = true;
    process.on('SIGHUP', this.#reload);
    process.once('SIGTERM', this.#onStopSignal);
    process.once('SIGINT', this.#onStopSignal);
    this.#logger.info({ workers: this.#slots.length, pid: process.pid }, 'mailgate primary serving');
    return addresses;
  }

  /** Forks the worker of `slot`; resolves with its addresses once it listens, rejects if it dies first. */
  #fork(slot: Slot): Promise<GatewayAddresses> {
    const worker = nodeCluster.fork();
    slot.worker = worker;
    slot.ready = false;
    slot.refusedLogged = false;
    slot.startedAt = Date.now();
    return new Promise((resolve, reject) => {
      worker.on('message', (received: unknown) => {
        const message = workerMessageOf(received);
        if (!message) {
          this.#refused(slot, received);
          return;
        }
        if (message.t === 'hello') {
          this.#send(worker, {
            t: 'init',
            index: slot.index,
            config: this.#config,
            ticketKeys: this.#ticketKeys.toString('hex'),
          });
          const replicaState = this.#replicaStateMessage();
          if (replicaState) this.#send(worker, replicaState);
        } else if (message.t === 'ready') {
          slot.ready = true;
          this.#logger.info({ worker: slot.index, pid: worker.process.pid }, 'worker serving');
          resolve(message.addresses);
        } else this.#onMessage(slot, worker, message);
      });
      worker.on('exit', (code, signal) => {
        if (!slot.ready) reject(new MailgateError('ERR_CONFIG', `worker ${slot.index} failed to start`));
        this.#onExit(slot, worker, { code, signal });
      });
    });
  }

  /** A message of the wrong shape is dropped and logged (once per worker process: a loop cannot flood the log). */
  #refused(slot: Slot, received: unknown) {
    this.#refusedMessages.inc();
    if (slot.refusedLogged) return;
    slot.refusedLogged = true;
    const t = typeof received === 'object' && received !== null ? (received as { t?: unknown }).t : undefined;
    this.#logger.error(
      { worker: slot.index, type: typeof t === 'string' ? t.slice(0, 40) : typeof received },
      'worker message of the wrong shape dropped',
    );
  }

  #onMessage(slot: Slot, worker: Worker, message: WorkerMessage) {
    switch (message.t) {
      case 'limit': {
        const { id } = message;
        const failed = (error: unknown) =>
          this.#send(worker, { t: 'reply', id, error: (error as Error).message });
        try {
          const value = this.#limiter.check(message.tokenId, message.limits);
          // The local limiter answers at once; the shared one (Redis) after a round trip.
          if (value instanceof Promise)
            value.then((decided) => this.#send(worker, { t: 'reply', id, value: decided }), failed);
          else this.#send(worker, { t: 'reply', id, value });
        } catch (error) {
          failed(error);
        }
        return;
      }
      case 'crl':
        this.#onCrl(message.number);
        return;
      case 'metrics':
        this.#metrics().then(
          (text) => this.#send(worker, { t: 'reply', id: message.id, value: text }),
          (error: unknown) => this.#send(worker, { t: 'reply', id: message.id, error: String(error) }),
        );
        return;
      case 'collected-metrics':
        this.#collected(worker, message.id, 'metrics', message.metrics);
        return;
      case 'collected-traffic': {
        const { bucket, load } = message;
        // The worker's index and pid are the primary's to say, not the worker's.
        const figures: ProcessFigures = { worker: slot.index, pid: worker.process.pid ?? 0, ...load };
        this.#collected(worker, message.id, 'traffic', { bucket, figures });
        return;
      }
      case 'traffic-bucket':
        this.#traffic.add(message.bucket, Date.now());
        // A filling bucket this worker already answered with is inside the closed one it just sent: only
        // one of them may count. Its answer stays (empty), so it is not reported missing.
        for (const collection of this.#collections.values()) {
          const answer = collection.answers.get(slot.index) as TrafficAnswer | undefined;
          if (collection.kind === 'traffic' && answer) answer.bucket = undefined;
        }
        return;
      case 'traffic':
        this.#trafficViewShared().then(
          (view) => this.#send(worker, { t: 'reply', id: message.id, value: view }),
          (error: unknown) => this.#send(worker, { t: 'reply', id: message.id, error: String(error) }),
        );
        return;
    }
  }

  /** An answer to a collection, from a worker it asked and that has not answered yet. */
  #collected(worker: Worker, id: number, kind: Collection['kind'], value: unknown) {
    const collection = this.#collections.get(id);
    const index = collection?.waiting.get(worker.id);
    if (!collection || collection.kind !== kind || index === undefined) return;
    collection.waiting.delete(worker.id);
    collection.answers.set(index, value);
    if (collection.waiting.size === 0) collection.finish();
  }

  /**
   * Asks every ready worker with `message` and resolves with `conclude` of what came within `timeoutMs`; the
   * workers that did not answer (or were not ready) are named missing. `conclude` runs in the tick of the
   * last answer (or of the deadline), before any other message: the IPC messages of one read are all
   * emitted before a promise job, so a worker's next message (its closed traffic bucket) would otherwise
   * land between the last answer and what is made of the answers.
   */
  #collect<T>(
    kind: Collection['kind'],
    message: (id: number) => PrimaryMessage,
    timeoutMs: number,
    conclude: (collected: Collected) => T,
  ): Promise<T> {
    const id = this.#nextCollection++;
    const asked = this.#slots.flatMap((slot) =>
      slot.ready && slot.worker?.isConnected() ? [{ slot, worker: slot.worker }] : [],
    );
    return new Promise<T>((resolve, reject) => {
      const collection: Collection = {
        kind,
        answers: new Map(),
        waiting: new Map(asked.map(({ slot, worker }) => [worker.id, slot.index])),
        finish: () => {
          clearTimeout(timer);
          this.#collections.delete(id);
          const missing = this.#slots
            .map((slot) => slot.index)
            .filter((index) => !collection.answers.has(index));
          try {
            resolve(conclude({ answers: collection.answers, missing }));
          } catch (error) {
            reject(error);
          }
        },
      };
      const timer = setTimeout(collection.finish, timeoutMs);
      this.#collections.set(id, collection);
      for (const { worker } of asked) this.#send(worker, message(id));
      if (asked.length === 0) collection.finish();
    });
  }

  /**
   * The whole gateway's traffic: every worker's closed buckets (held here) and their filling ones (asked
   * for now), merged; served again for TRAFFIC_VIEW_CACHE_MS, and shared by requests while it is made.
   */
  #trafficViewShared(): Promise<TrafficView> {
    if (this.#trafficView && this.#trafficViewUntil > Date.now()) return this.#trafficView;
    this.#trafficViewUntil = Number.POSITIVE_INFINITY;
    this.#trafficView = this.#collect(
      'traffic',
      (id) => ({ t: 'collect-traffic', id }),
      TRAFFIC_COLLECT_TIMEOUT_MS,
      (collected) => {
        this.#trafficViewUntil = Date.now() + TRAFFIC_VIEW_CACHE_MS;
        return this.#mergedTraffic(collected);
      },
    );
    return this.#trafficView;
  }

  /** The held buckets with the answered filling ones, and every process's figures, the primary first. */
  #mergedTraffic({ answers, missing }: Collected): TrafficView {
    const answered = [...answers].sort(([a], [b]) => a - b).map(([, answer]) => answer as TrafficAnswer);
    const filling = answered.flatMap(({ bucket }) => (bucket ? [bucket] : []));
    const primary: ProcessFigures = {
      worker: null,
      pid: process.pid,
      ...processLoad({ connections: 0, inFlight: 0 }),
    };
    return this.#traffic.view(
      Date.now(),
      filling,
      { kind: 'workers', workers: this.#slots.length, missing },
      [primary, ...answered.map(({ figures }) => figures)],
    );
  }

  /**
   * A worker serves a newer CRL: every worker gets new ticket keys at once, so no session resumed on any
   * of them skips the revocation check (security rule 4). The first report only sets the baseline.
   */
  #onCrl(number: number) {
    if (this.#cluster) {
      // Every node's keys rotate together; the new ones come back through onTicketKeys.
      this.#cluster.crlChanged(number);
      return;
    }
    if (number <= this.#crlNumber) return;
    const first = this.#crlNumber === -1;
    this.#crlNumber = number;
    if (first) return;
    this.#broadcastTicketKeys(randomBytes(48));
    this.#logger.info({ crl: number }, 'crl changed; tls session tickets rotated on every worker');
  }

  #broadcastTicketKeys(keys: Buffer) {
    this.#ticketKeys = keys;
    this.#broadcast({ t: 'ticket-keys', ticketKeys: keys.toString('hex') });
  }

  #broadcast(message: PrimaryMessage) {
    for (const slot of this.#slots) if (slot.worker) this.#send(slot.worker, message);
  }

  /** The replica state as a message to workers; undefined before the first read. */
  #replicaStateMessage(): PrimaryMessage | undefined {
    const replica = this.#cluster?.replica;
    const state = replica?.state();
    if (!replica || !state) return undefined;
    return { t: 'replica-state', state: replicatedStateMessage(state), freshAt: replica.freshAt() };
  }

  /** Every ready worker's metrics and the primary's own, merged as prom-client's cluster mode does. */
  async #metrics(): Promise<string> {
    const { answers } = await this.#collect(
      'metrics',
      (id) => ({ t: 'collect-metrics', id }),
      COLLECT_TIMEOUT_MS,
      (collected) => collected,
    );
    const results = [...answers.values()] as ProcessMetrics[];
    results.push(await this.#registry.getMetricsAsJSON());
    return AggregatorRegistry.aggregate(results).metrics();
  }

  #onExit(slot: Slot, worker: Worker, exit: WorkerExit) {
    if (slot.worker !== worker) return;
    slot.worker = undefined;
    const wasReady = slot.ready;
    slot.ready = false;
    for (const collection of this.#collections.values())
      if (collection.waiting.delete(worker.id) && collection.waiting.size === 0) collection.finish();
    if (this.#stopping || !this.#started) return;
    const ranMs = Date.now() - slot.startedAt;
    slot.crashes = nextCrashCount(slot.crashes, ranMs);
    const delayMs = restartDelayMs(slot.crashes);
    this.#restarts.inc({ reason: exitReason(exit) });
    this.#logger.error(
      {
        worker: slot.index,
        pid: worker.process.pid,
        ...exit,
        ranMs,
        crashesInRow: slot.crashes,
        restartInMs: delayMs,
      },
      wasReady ? 'worker died; restarting' : 'worker failed to start; restarting',
    );
    slot.restartTimer = setTimeout(() => {
      slot.restartTimer = undefined;
      // A failed restart is logged by its own exit; the next one backs off further.
      this.#fork(slot).catch(() => {});
    }, delayMs);
  }

  /** SIGHUP: the configuration is read and checked here once, then every worker applies it. */
  readonly #reload = () => {
    const { configPath, env, config } = this.#options;
    let next: Config;
    try {
      next = loadConfig({ configPath, env, dataDir: config.dataDir });
    } catch (error) {
      const message = error instanceof MailgateError ? error.message : String(error);
      this.#logger.error(
        { err: message },
        'configuration reload refused; workers keep the previous configuration',
      );
      return;
    }
    if (next.workers !== config.workers) this.#logger.warn('workers changed: restart mailgate to apply it');
    // A worker restarted later starts with it too.
    this.#config = next;
    for (const slot of this.#slots) if (slot.worker) this.#send(slot.worker, { t: 'reload', config: next });
    this.#logger.info({ workers: this.#slots.length }, 'reload sent to every worker');
  };

  readonly #onStopSignal = (signal: NodeJS.Signals) => {
    this.stop(signal).then(this.#resolveStopped);
  };

  /** Drains every worker (SIGTERM to each) and waits for their exits; kills those past the drain budget. */
  stop(signal: NodeJS.Signals): Promise<number> {
    this.#stopping ??= this.#stop(signal);
    return this.#stopping;
  }

  async #stop(signal: NodeJS.Signals): Promise<number> {
    this.#logger.info({ signal }, 'draining every worker');
    process.off('SIGHUP', this.#reload);
    process.off('SIGTERM', this.#onStopSignal);
    process.off('SIGINT', this.#onStopSignal);
    const exits = this.#slots.map((slot) => {
      clearTimeout(slot.restartTimer);
      const worker = slot.worker;
      if (!worker) return Promise.resolve<WorkerExit>({ code: 0, signal: null });
      const exited = new Promise<WorkerExit>((resolve) => {
        if (worker.isDead()) resolve({ code: worker.process.exitCode, signal: worker.process.signalCode });
        else worker.once('exit', (code, exitSignal) => resolve({ code, signal: exitSignal }));
      });
      worker.process.kill('SIGTERM');
      const deadline = setTimeout(() => {
        this.#logger.error({ worker: slot.index }, 'worker did not drain in time; killed');
        worker.process.kill('SIGKILL');
      }, this.#options.config.drainTimeoutMs + DRAIN_GRACE_MS);
      return exited.finally(() => clearTimeout(deadline));
    });
    const code = drainExitCode(await Promise.all(exits));
    for (const collection of this.#collections.values()) collection.finish();
    this.#localLimiter?.close();
    clearInterval(this.#freshTimer);
    await this.#cluster?.close();
    this.#db.close();
    this.#logger.info({ code }, 'stopped');
    this.#logger.flush();
    return code;
  }

  #send(worker: Worker, message: PrimaryMessage) {
    // A worker that just died cannot take messages; its exit is handled on its own.
    if (worker.isConnected()) worker.send(message);
  }
}
