/**
 * @module The shape of a command table entry, shared by the tables in cli/tables/.
 */
import type { ParseArgsConfig } from 'node:util';
import type { CliContext } from './context.js';

export type FlagValues = Record<string, string | boolean | undefined>;

export interface CommandSpec {
  /** Words after `mailgate`, e.g. ['ca', 'issue', 'client']. */
  path: readonly string[];
  summary: string;
  /** Synopsis shown by --help after "mailgate <path>". */
  usage: string;
  options: NonNullable<ParseArgsConfig['options']>;
  /** Allowed number of positional arguments [min, max]; default [0, 0]. */
  positionals?: readonly [number, number];
  /** Loads the command module lazily (fast start) and runs it. */
  run: (flags: FlagValues, positionals: string[], ctx: CliContext) => Promise<void>;
}

export const stringFlag = { type: 'string' } as const;
export const booleanFlag = { type: 'boolean' } as const;
