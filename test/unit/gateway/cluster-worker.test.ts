import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import type { PrimaryMessage, WorkerMessage } from '../../../gateway/cluster-protocol.js';
import {
  LIMIT_REPLY_TIMEOUT_MS,
  METRICS_REPLY_TIMEOUT_MS,
  TRAFFIC_REPLY_TIMEOUT_MS,
  WorkerLink,
} from '../../../gateway/cluster-worker.js';
import { type TrafficView, zeroCounts } from '../../../gateway/traffic-buckets.js';
import { TrafficHistory } from '../../../gateway/traffic-history.js';
import type { RateLimitDecision } from '../../../tokens/rate-limiter.js';
import type { TokenLimits } from '../../../tokens/token-limits.js';

const LIMITS: TokenLimits = { rate: { count: 10, perMs: 60_000 }, burst: 5, quotaPerDay: undefined };
const ADMITTED: RateLimitDecision = { allowed: true, limit: 5, remaining: 4, resetSeconds: 12 };

/** A WorkerLink over a recorded transport, a hand-moved clock and a recording logger. */
function link() {
  const sent: WorkerMessage[] = [];
  const logged: Array<{ level: 'error' | 'info'; fields: object; message: string }> = [];
  const clock = { now: 1_000_000 };
  const registry = new Registry();
  const worker = new WorkerLink({
    index: 2,
    ticketKeysHex: '00'.repeat(48),
    send: (message) => sent.push(message),
    logger: {
      error: ((fields: object, message: string) => logged.push({ level: 'error', fields, message })) as never,
      info: ((fields: object, message: string) => logged.push({ level: 'info', fields, message })) as never,
    },
    now: () => clock.now,
  });
  worker.registerMetrics(registry);
  opened.push(worker);
  const lastId = () => (sent.at(-1) as { id: number }).id;
  const reply = (message: Omit<Extract<PrimaryMessage, { t: 'reply' }>, 't'>) =>
    worker.receive({ t: 'reply', ...message });
  const unanswered = async (question: string) =>
    (await registry.getSingleMetric('mailgate_primary_unanswered_total')!.get()).values.find(
      (v) => v.labels.question === question,
    )?.value ?? 0;
  return { worker, sent, logged, clock, lastId, reply, unanswered };
}

const opened: WorkerLink[] = [];
afterEach(() => {
  for (const worker of opened.splice(0)) worker.close();
});

/** Whether a promise has settled, without waiting for it. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  const pending = Symbol('pending');
  return (await Promise.race([promise, Promise.resolve(pending)])) !== pending;
}

describe('WorkerLink: questions to the primary', () => {
  it('a limit decision answered in time is the primary’s', async () => {
    const { worker, sent, lastId, reply } = link();
    const decision = worker.limiter.check('tok_1', LIMITS) as Promise<RateLimitDecision>;
    expect(sent).toEqual([{ t: 'limit', id: lastId(), tokenId: 'tok_1', limits: LIMITS }]);
    reply({ id: lastId(), value: ADMITTED });
    expect(await decision).toEqual(ADMITTED);
  });

  it('a primary that does not answer: the limit check is refused as unavailable at its deadline, counted, and the outage logged once with its end', async () => {
    const { worker, logged, clock, lastId, reply, unanswered } = link();
    const first = worker.limiter.check('tok_1', LIMITS) as Promise<RateLimitDecision>;
    const firstId = lastId();
    clock.now += LIMIT_REPLY_TIMEOUT_MS - 1;
    worker.sweep();
    expect(await settled(first)).toBe(false);
    const second = worker.limiter.check('tok_2', LIMITS) as Promise<RateLimitDecision>;
    clock.now += 1;
    worker.sweep();
    expect(await first).toMatchObject({ allowed: false, reason: 'unavailable', retryAfterSeconds: 1 });
    expect(await settled(second)).toBe(false);
    clock.now += LIMIT_REPLY_TIMEOUT_MS;
    worker.sweep();
    expect(await second).toMatchObject({ allowed: false, reason: 'unavailable' });
    expect(await unanswered('limit')).toBe(2);
    expect(logged.map((l) => l.level)).toEqual(['error']);
    expect(logged[0]!.message).toMatch(/primary did not answer in time.*503 cluster_unavailable/);

    // A late answer is dropped (its request was answered already), and says the primary is back.
    reply({ id: firstId, value: ADMITTED });
    expect(logged.map((l) => l.level)).toEqual(['error', 'info']);
    expect(logged[1]).toMatchObject({ fields: { unanswered: 2 }, message: 'the primary answers again' });
    const third = worker.limiter.check('tok_3', LIMITS) as Promise<RateLimitDecision>;
    reply({ id: lastId(), value: ADMITTED });
    expect(await third).toEqual(ADMITTED);
  });

  it('a scrape through a worker fails once the primary has not answered in METRICS_REPLY_TIMEOUT_MS', async () => {
    const { worker, clock, unanswered } = link();
    const scrape = worker.metrics();
    clock.now += LIMIT_REPLY_TIMEOUT_MS;
    worker.sweep();
    expect(await settled(scrape)).toBe(false);
    clock.now += METRICS_REPLY_TIMEOUT_MS - LIMIT_REPLY_TIMEOUT_MS;
    worker.sweep();
    await expect(scrape).rejects.toThrow('primary: no answer in time');
    expect(await unanswered('metrics')).toBe(1);
  });

  it('an error answer fails the question (a 500 for the request, as any internal failure)', async () => {
    const { worker, lastId, reply } = link();
    const decision = worker.limiter.check('tok_1', LIMITS) as Promise<RateLimitDecision>;
    reply({ id: lastId(), error: 'database is locked' });
    await expect(decision).rejects.toThrow('primary: database is locked');
  });

  it('with the primary gone, open and new limit checks are refused as unavailable at once, nothing sent', async () => {
    const { worker, sent } = link();
    const open = worker.limiter.check('tok_1', LIMITS) as Promise<RateLimitDecision>;
    worker.close();
    expect(await open).toMatchObject({ allowed: false, reason: 'unavailable' });
    const count = sent.length;
    expect(await worker.limiter.check('tok_2', LIMITS)).toMatchObject({ reason: 'unavailable' });
    await expect(worker.metrics()).rejects.toThrow('primary: disconnected');
    expect(sent.length).toBe(count);
  });
});

describe('WorkerLink: traffic', () => {
  const LOAD = { uptimeSeconds: 5, rssBytes: 1_000, connections: 2, inFlight: 1 };
  /** A worker's link sharing a history whose counters read `publicCount` public requests. */
  function sharing(publicCount: number) {
    const parts = link();
    const counters = zeroCounts();
    counters.latency.public[0] = publicCount;
    const history = new TrafficHistory({ now: () => parts.clock.now, read: async () => counters });
    parts.worker.shareTraffic(history, () => LOAD);
    return { ...parts, history };
  }

  it('sends each closed bucket to the primary and answers its collection with the filling one', async () => {
    const { worker, sent, history, clock } = sharing(3);
    worker.receive({ t: 'collect-traffic', id: 7 });
    await eventuallySent(sent, 'collected-traffic');
    expect(sent.at(-1)).toMatchObject({
      t: 'collected-traffic',
      id: 7,
      bucket: { counts: { denied: 0 } },
      load: LOAD,
    });
    clock.now += 10_000;
    await history.sample();
    expect(sent.at(-1)).toMatchObject({ t: 'traffic-bucket' });
  });

  it('the console gets the primary’s merged view when it answers', async () => {
    const { worker, lastId, reply } = sharing(1);
    const view = worker.traffic();
    const merged: TrafficView = {
      now: 1,
      buckets: [],
      scope: { kind: 'workers', workers: 3, missing: [] },
      processes: [],
    };
    reply({ id: lastId(), value: merged });
    expect(await view).toEqual(merged);
  });

  it('without an answer in TRAFFIC_REPLY_TIMEOUT_MS, this worker’s own figures, said so in the scope', async () => {
    const { worker, clock, unanswered } = sharing(4);
    const view = worker.traffic();
    clock.now += TRAFFIC_REPLY_TIMEOUT_MS;
    worker.sweep();
    const own = await view;
    expect(own.scope).toEqual({ kind: 'worker', worker: 2 });
    expect(own.processes).toEqual([{ worker: 2, pid: process.pid, ...LOAD }]);
    expect(own.buckets.at(-1)!.counts.latency.public[0]).toBe(4);
    expect(await unanswered('traffic')).toBe(1);
  });

  it('with the primary gone, its own figures at once', async () => {
    const { worker } = sharing(2);
    worker.close();
    expect((await worker.traffic()).scope).toEqual({ kind: 'worker', worker: 2 });
  });
});

/** Waits for the async answer the link sends (a history read) without a timer. */
async function eventuallySent(sent: WorkerMessage[], t: WorkerMessage['t']) {
  for (let i = 0; i < 20 && !sent.some((message) => message.t === t); i++) await Promise.resolve();
  expect(sent.some((message) => message.t === t)).toBe(true);
}
