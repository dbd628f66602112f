/**
 * @module Parsing of human durations (`90d`, `15m`) and rates (`60/min`), once at load time.
 */

const UNIT_MS = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  min: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
} as const;

/**
 * Parses `N` + unit (ms, s, m|min, h, d, w) into milliseconds.
 * @returns milliseconds, or undefined when the text is not a positive duration.
 * @example parseDuration('90d') // 7776000000
 */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d{1,9})(ms|s|m|min|h|d|w)$/.exec(text.trim());
  if (!match) return undefined;
  const value = Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
  return value > 0 ? value : undefined;
}

export interface Rate {
  /** How many events per `perMs`. */
  count: number;
  perMs: number;
}

const RATE_UNIT_MS: Record<string, number> = {
  s: 1_000,
  sec: 1_000,
  m: 60_000,
  min: 60_000,
  h: 3_600_000,
  hour: 3_600_000,
  d: 86_400_000,
  day: 86_400_000,
};

/**
 * Parses `COUNT/UNIT` (unit s|sec, m|min, h|hour, d|day).
 * @returns the rate, or undefined when the text is not one.
 * @example parseRate('60/min') // { count: 60, perMs: 60000 }
 */
export function parseRate(text: string): Rate | undefined {
  const match = /^(\d{1,9})\/(s|sec|m|min|h|hour|d|day)$/.exec(text.trim());
  if (!match) return undefined;
  const count = Number(match[1]);
  return count > 0 ? { count, perMs: RATE_UNIT_MS[match[2]!]! } : undefined;
}

const RATE_UNIT_NAMES: Record<number, string> = { 1000: 's', 60000: 'min', 3600000: 'h', 86400000: 'day' };

/**
 * Writes a rate as parseRate reads it, in milliseconds when its period has no unit name.
 * @example formatRate({ count: 60, perMs: 60_000 }) // '60/min'
 */
export function formatRate(rate: Rate): string {
  return `${rate.count}/${RATE_UNIT_NAMES[rate.perMs] ?? `${rate.perMs}ms`}`;
}
