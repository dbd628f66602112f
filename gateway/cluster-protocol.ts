/**
 * @module The primary/worker split of `workers: N` (node:cluster): the IPC messages between them and the
 * pure decisions (worker count, restart backoff, exit code), tested without processes.
 */

import type { ProcessLoad } from '../admin/api/traffic.js';
import type { ClientRole } from '../certs/rules.js';
import { UsageError } from '../lib/errors.js';
import type { RateLimitDecision } from '../tokens/rate-limiter.js';
import type { TokenLimits } from '../tokens/token-limits.js';
import type { ReplicatedState } from './cluster-state.js';
import { MAX_WORKERS } from './config/defaults.js';
import type { Config } from './config/schema.js';
import type { GatewayAddresses } from './gateway.js';
import { processLoadOf, type TrafficBucket, trafficBucketOf } from './traffic-buckets.js';

/** The configured worker setting: `auto` or a count in 1..MAX_WORKERS. */
export type WorkersSetting = 'auto' | number;

/**
 * Primary -> worker. Ticket keys travel as hex (IPC messages are JSON). The configuration is the one the
 * primary read and validated (a Config is plain data): every worker runs the same one, and no worker loads
 * the YAML parser or the schema.
 */
export type PrimaryMessage =
  | { t: 'init'; index: number; config: Config; ticketKeys: string }
  | { t: 'ticket-keys'; ticketKeys: string }
  | { t: 'reply'; id: number; value?: unknown; error?: string }
  | { t: 'collect-metrics'; id: number }
  /** Asks for the traffic bucket still filling (answered with 'collected-traffic'). */
  | { t: 'collect-traffic'; id: number }
  | { t: 'reload'; config: Config }
  /** A replica's primary: the origin's state as read (and checked) from Redis, its maps and sets as lists. */
  | { t: 'replica-state'; state: ReplicatedStateMessage; freshAt: number }
  /** A replica's primary: the state is still current as of `freshAt` (epoch ms). */
  | { t: 'replica-fresh'; freshAt: number };

/** A ReplicatedState as JSON carries it (IPC messages are JSON). */
export interface ReplicatedStateMessage
  extends Omit<ReplicatedState, 'roles' | 'revokedTokens' | 'revokedSerials'> {
  roles: Array<[string, ClientRole]>;
  revokedTokens: string[];
  revokedSerials: string[];
}

/** The message form of a state, and back. */
export function replicatedStateMessage(state: ReplicatedState): ReplicatedStateMessage {
  return {
    ...state,
    roles: [...state.roles],
    revokedTokens: [...state.revokedTokens],
    revokedSerials: [...state.revokedSerials],
  };
}

export function replicatedStateOf(message: ReplicatedStateMessage): ReplicatedState {
  return {
    ...message,
    roles: new Map(message.roles),
    revokedTokens: new Set(message.revokedTokens),
    revokedSerials: new Set(message.revokedSerials),
  };
}

/**
 * Worker -> primary. The primary trusts none of it: workerMessageOf checks each message's shape before
 * anything reads it.
 */
export type WorkerMessage =
  | { t: 'hello' }
  | { t: 'ready'; addresses: GatewayAddresses }
  | { t: 'limit'; id: number; tokenId: string; limits: TokenLimits }
  | { t: 'metrics'; id: number }
  | { t: 'crl'; number: number }
  | { t: 'collected-metrics'; id: number; metrics: unknown }
  /** A traffic bucket that closed: the primary adds it to the gateway's history. */
  | { t: 'traffic-bucket'; bucket: TrafficBucket }
  /** The console asks for the whole gateway's traffic (answered with a reply holding a TrafficView). */
  | { t: 'traffic'; id: number }
  /** The answer to 'collect-traffic': the bucket still filling, and the worker's own load. */
  | { t: 'collected-traffic'; id: number; bucket: TrafficBucket; load: ProcessLoad };

const isId = (value: unknown) => Number.isSafeInteger(value);
const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * `value` as a worker message when its shape is one, else undefined: a worker's bug (or a compromised
 * worker) never makes the primary throw on a missing field. Traffic buckets are checked whole (their
 * counts are added up); other payloads as far as the primary reads them.
 */
export function workerMessageOf(value: unknown): WorkerMessage | undefined {
  if (!isObject(value)) return undefined;
  const message = value as Record<string, unknown> & { t: unknown };
  switch (message.t) {
    case 'hello':
      return { t: 'hello' };
    case 'ready':
      return isObject(message.addresses) ? (message as WorkerMessage) : undefined;
    case 'limit':
      return isId(message.id) && typeof message.tokenId === 'string' && isObject(message.limits)
        ? (message as WorkerMessage)
        : undefined;
    case 'metrics':
    case 'traffic':
      return isId(message.id) ? (message as WorkerMessage) : undefined;
    case 'crl':
      return isId(message.number) ? (message as WorkerMessage) : undefined;
    case 'collected-metrics':
      return isId(message.id) && Array.isArray(message.metrics) ? (message as WorkerMessage) : undefined;
    case 'traffic-bucket': {
      const bucket = trafficBucketOf(message.bucket);
      return bucket && { t: 'traffic-bucket', bucket };
    }
    case 'collected-traffic': {
      const bucket = trafficBucketOf(message.bucket);
      const load = processLoadOf(message.load);
      return bucket && load && isId(message.id)
        ? { t: 'collected-traffic', id: message.id as number, bucket, load }
        : undefined;
    }
    default:
      return undefined;
  }
}

export type LimitReply = RateLimitDecision;

/** `--workers` text: `auto` or 1..MAX_WORKERS; undefined when the flag is absent. @throws UsageError */
export function parseWorkersFlag(value: string | boolean | undefined): WorkersSetting | undefined {
  if (value === undefined) return undefined;
  if (value === 'auto') return 'auto';
  if (typeof value === 'string' && /^\d{1,3}$/.test(value)) {
    const count = Number(value);
    if (count >= 1 && count <= MAX_WORKERS) return count;
  }
  throw new UsageError(`--workers must be auto or a whole number from 1 to ${MAX_WORKERS}, got '${value}'`);
}

/** How many workers run: `auto` is one per core the process may use, never more than MAX_WORKERS. */
export function resolveWorkerCount(setting: WorkersSetting, cores: number): number {
  return setting === 'auto' ? Math.max(1, Math.min(cores, MAX_WORKERS)) : setting;
}

/** First restart delay after a crash, ms; it doubles with each crash in a row. */
export const RESTART_BASE_MS = 250;
/** Longest wait between restarts of a worker that keeps crashing, ms. */
export const RESTART_MAX_MS = 30_000;
/** A worker that served this long before it died starts a new series of crashes (delay back to the base). */
export const STABLE_AFTER_MS = 30_000;

/**
 * The wait before restarting a worker that died after `crashesInRow` crashes (this one included, >= 1):
 * 250 ms, 500 ms, 1 s, ... capped at 30 s, so a worker that dies at start does not spin a core.
 */
export function restartDelayMs(crashesInRow: number): number {
  return Math.min(RESTART_MAX_MS, RESTART_BASE_MS * 2 ** Math.min(Math.max(crashesInRow - 1, 0), 16));
}

/** Crashes in a row after a worker that ran `ranMs` died, given the count before it. */
export function nextCrashCount(previous: number, ranMs: number): number {
  return ranMs >= STABLE_AFTER_MS ? 1 : previous + 1;
}

/** How a worker ended during a drain: its exit code, or the signal that killed it. */
export interface WorkerExit {
  code: number | null;
  signal: string | null;
}

/** The primary's exit code after SIGTERM: 0 only when every worker drained and exited 0. */
export function drainExitCode(exits: readonly WorkerExit[]): number {
  return exits.every((exit) => exit.code === 0 && exit.signal === null) ? 0 : 1;
}

/** Why a worker is restarted, as the `reason` label of mailgate_worker_restarts_total. */
export function exitReason({ code, signal }: WorkerExit): 'signal' | 'error' | 'exit' {
  if (signal !== null) return 'signal';
  return code === 0 ? 'exit' : 'error';
}
