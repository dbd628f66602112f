/**
 * @module Normalising command flags into typed values, with UsageError naming the flag.
 */
import { readFileSync } from 'node:fs';
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

/**
 * The first line of a secret file (so `echo pw > f` works); undefined when `path` is. Secrets come from
 * files, never from the command line, where the process list and the shell history show them.
 * @throws UsageError naming the flag when the file cannot be read.
 */
export function secretFromFile(path: string | undefined, flag: string): string | undefined {
  if (path === undefined) return undefined;
  try {
    return readFileSync(path, 'utf8').replace(/\r?\n$/, '');
  } catch (cause) {
    throw new UsageError(`${flag}: cannot read ${path}: ${(cause as NodeJS.ErrnoException).code ?? cause}`);
  }
}
