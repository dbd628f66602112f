/**
 * @module Normalising command flags into typed values, with UsageError naming the flag.
 */
import { UsageError } from '../lib/errors.js';
import type { FlagValues } from './command-spec.js';

/** The string value of --name, or undefined. */
export function optionalString(flags: FlagValues, name: string): string | undefined {
  const value = flags[name];
  return typeof value === 'string' ? value : undefined;
}

/** The string value of --name. @throws UsageError when missing or empty. */
export function requiredString(flags: FlagValues, name: string): string {
  const value = optionalString(flags, name);
  if (value === undefined || value === '') throw new UsageError(`--${name} is required`);
  return value;
}

/** A whole number in [min, max]. @throws UsageError naming the flag. */
export function optionalInteger(
  flags: FlagValues,
  name: string,
  min: number,
  max: number,
): number | undefined {
  const text = optionalString(flags, name);
  if (text === undefined) return undefined;
  if (!/^-?\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, got '${text}'`);
  }
  return Number(text);
}

/** A comma-separated list with empty items dropped. */
export function optionalList(flags: FlagValues, name: string): string[] | undefined {
  const text = optionalString(flags, name);
  return text === undefined
    ? undefined
    : text
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
}
