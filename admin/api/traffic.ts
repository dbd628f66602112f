/**
 * @module Admin API traffic endpoint (viewer): the last hour of requests, latency and denials as the console
 * charts them, for the whole gateway (every worker's counts merged under `workers`). The gateway builds the
 * report (gateway/traffic-buckets.ts); this module declares what it reads.
 */
import { Hono } from 'hono';
import type { AdminEnv } from '../admin-env.js';
import { auditCalls } from './call-audit.js';
import type { AdminApiOptions } from './options.js';
import { requireRole } from './roles.js';

export type ChartedPlane = 'public' | 'token' | 'admin';

/**
 * Whose traffic a report counts: one process (no workers); every worker, merged by the primary (`missing`:
 * the worker indexes whose figures since their last bucket boundary did not arrive in time); or, when the
 * primary did not answer, only the worker that served this request.
 */
export type TrafficScope =
  | { kind: 'process' }
  | { kind: 'workers'; workers: number; missing: number[] }
  | { kind: 'worker'; worker: number };

/** Latency percentiles, seconds, from a histogram; null without requests. */
export interface LatencyFigures {
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

/** One bucket: its counts, and its latency percentiles computed from the merged histogram. */
export interface TrafficInterval {
  /** Where the bucket ends (epoch ms): start + interval, or the time of the report for the filling one. */
  end: number;
  /** Seconds the bucket spans (up to the report for the filling one): requests / seconds is the rate. */
  seconds: number;
  requests: Record<ChartedPlane, number>;
  /** Requests refused by a plane guard or the path canonicaliser. */
  denied: number;
  latency: Record<ChartedPlane, LatencyFigures>;
}

/** What a process says of itself: the console lists these per process, since they do not add up. */
export interface ProcessLoad {
  uptimeSeconds: number;
  rssBytes: number;
  /** Open client connections (h2 sessions included). */
  connections: number;
  /** Requests being answered now. */
  inFlight: number;
}

/** One process of the gateway: a worker (its index), or the primary or the only process (null). */
export interface ProcessFigures extends ProcessLoad {
  worker: number | null;
  pid: number;
}

/** What `/traffic` answers and the console's overview charts. */
export interface TrafficReport {
  time: string;
  intervalSeconds: number;
  windowSeconds: number;
  scope: TrafficScope;
  /** Over the whole window. */
  totals: {
    requests: Record<ChartedPlane, number>;
    denied: number;
    latency: Record<ChartedPlane, LatencyFigures>;
  };
  /** Oldest first; the last one may still be filling. */
  intervals: TrafficInterval[];
  /** Every process that answered: the primary first (its worker null), then the workers by index. */
  processes: ProcessFigures[];
}

/** The route `/traffic`. */
export function trafficRoutes(options: AdminApiOptions): Hono<AdminEnv> {
  const audited = auditCalls(options.db);
  const app = new Hono<AdminEnv>();
  app.get('/', audited('api.traffic'), requireRole('viewer'), async (c) => c.json(await options.traffic()));
  return app;
}
