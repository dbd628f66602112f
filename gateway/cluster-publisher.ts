/**
 * @module The origin node's side of the cluster state: reads the store (the system of record, where the
 * CLI runs) and publishes what replicas need to Redis whenever it changes, rotating every node's TLS
 * session ticket keys when the revocations or the CRL did (docs/security.md rule 4).
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { readCaCertificatePem } from '../certs/ca-files.js';
import { clientRoles, revokedSerials } from '../certs/certificate-store.js';
import { ChangeWatch } from '../store/change-watch.js';
import { type Database, openDatabase } from '../store/database.js';
import { publicJwks } from '../tokens/signing-keys.js';
import { utcDay } from '../tokens/token-bucket.js';
import { TokenState } from '../tokens/token-state.js';
import { raiseUsage } from '../tokens/usage-store.js';
import {
  type ReplicatedState,
  readState,
  revocationFingerprint,
  revokedMembers,
  stateDocument,
} from './cluster-state.js';
import { QUOTA_PREFIX } from './redis-limiter.js';

/** How often the quota counters in Redis are copied into the origin's store. */
const USAGE_COPY_MS = 5_000;

/** Where the cluster state lives in Redis (with the version, ticket keys and channel of redis-cluster.ts). */
export const STATE_KEYS = {
  state: 'mailgate:state',
  revoked: 'mailgate:revoked',
} as const;

export interface PublisherKeys {
  version: string;
  ticketKeys: string;
  changes: string;
}

export interface StatePublisherOptions {
  redis: Redis;
  dataDir: string;
  keys: PublisherKeys;
  onError: (op: string, error: unknown) => void;
  onPublished: (info: { rotated: boolean; version: string; revoked: number }) => void;
}

/** The store's state as replicas serve it; undefined while the CA or its CRL does not exist yet. */
export function storeState(db: Database, dataDir: string): ReplicatedState | undefined {
  let caPem: string;
  try {
    caPem = readCaCertificatePem(dataDir);
  } catch {
    return undefined;
  }
  const crl = db.prepare('SELECT pem, number FROM crl WHERE id = 1').get() as
    | { pem: string; number: number }
    | undefined;
  if (!crl) return undefined;
  const tokens = new TokenState(db);
  const revokedTokens = new Set<string>();
  const replicated: ReplicatedState['tokens'] = [];
  for (const [id, status] of tokens.entries()) {
    if (status.revoked) revokedTokens.add(id);
    replicated.push({ id, app: status.app, limits: status.limits });
  }
  return {
    caPem,
    crl: { pem: crl.pem, number: crl.number },
    jwks: publicJwks(db).keys,
    tokens: replicated,
    roles: clientRoles(db),
    revokedTokens,
    revokedSerials: revokedSerials(db),
  };
}

/**
 * Publishes on every store change (polled, as the gateway's own watch), when asked (a (re)connection, an
 * emptied Redis) and when what Redis holds differs from the store. Two origins sharing a store publish the
 * same document and do not rotate each other's keys.
 */
export class StatePublisher {
  readonly #options: StatePublisherOptions;
  readonly #db: Database;
  readonly #watch: ChangeWatch;
  readonly #usageTimer: NodeJS.Timeout;
  #running: Promise<void> | undefined;
  #again = false;
  #closed = false;
  /** The token ids last published, whose quota counters are copied back into the store. */
  #tokenIds: string[] = [];

  constructor(options: StatePublisherOptions) {
    this.#options = options;
    this.#db = openDatabase(options.dataDir);
    this.#watch = new ChangeWatch(this.#db, (error) => options.onError('publish', error));
    this.#watch.onChange(() => this.publish());
    this.#usageTimer = setInterval(() => {
      this.#copyUsage().catch((error: unknown) => options.onError('usage', error));
    }, USAGE_COPY_MS);
    this.#usageTimer.unref();
  }

  /**
   * Today's quota counts of every node, from Redis into the store's token_usage (and last_used_at), so the
   * console and `token list` on the origin show the cluster's use, not only this node's.
   */
  async #copyUsage() {
    const ids = this.#tokenIds;
    if (this.#closed || ids.length === 0) return;
    const now = Date.now();
    const dayNumber = Math.floor(now / 86_400_000);
    const values = await this.#options.redis.mget(ids.map((id) => `${QUOTA_PREFIX}${id}:${dayNumber}`));
    const counts = new Map<string, number>();
    for (const [i, value] of values.entries()) {
      const count = value === null ? Number.NaN : Number(value);
      if (Number.isSafeInteger(count) && count > 0) counts.set(ids[i]!, count);
    }
    if (counts.size > 0 && !this.#closed) raiseUsage(this.#db, utcDay(now), counts, now);
  }

  /** Publishes now, or once more after the one under way. */
  publish(): void {
    if (this.#closed) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = this.#publishOnce()
      .catch((error: unknown) => this.#options.onError('publish', error))
      .finally(() => {
        this.#running = undefined;
        if (this.#again) {
          this.#again = false;
          this.publish();
        }
      });
  }

  async #publishOnce() {
    const { redis, keys, onPublished } = this.#options;
    const state = storeState(this.#db, this.#options.dataDir);
    if (!state) return;
    this.#tokenIds = state.tokens.map((token) => token.id);
    const document = JSON.stringify(stateDocument(state));
    const members = revokedMembers(state);
    const stored = await redis.multi().get(STATE_KEYS.state).smembers(STATE_KEYS.revoked).exec();
    if (!stored || stored.some(([error]) => error)) throw stored?.find(([error]) => error)?.[0];
    const [[, storedDocument], [, storedMembers]] = stored as [[null, unknown], [null, unknown]];
    const before = readState(storedDocument, storedMembers);
    if (
      before.ok &&
      storedDocument === document &&
      (storedMembers as string[]).slice().sort().join('\n') === members.join('\n')
    )
      return;
    const rotated = before.ok && revocationFingerprint(before.state) !== revocationFingerprint(state);
    const version = randomBytes(12).toString('hex');
    const write = redis.multi().set(STATE_KEYS.state, document).del(STATE_KEYS.revoked);
    if (members.length > 0) write.sadd(STATE_KEYS.revoked, ...members);
    if (rotated) write.set(keys.ticketKeys, randomBytes(48).toString('hex'));
    else write.set(keys.ticketKeys, randomBytes(48).toString('hex'), 'NX');
    const results = await write.set(keys.version, version).exec();
    if (!results || results.some(([error]) => error)) throw results?.find(([error]) => error)?.[0];
    await redis.publish(keys.changes, version);
    onPublished({ rotated, version, revoked: members.length });
  }

  /** Stops watching and closes its store connection. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#usageTimer);
    this.#watch.close();
    this.#db.close();
  }
}
