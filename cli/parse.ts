/**
 * @module Turns argv and MAILGATE_* env into a command, its flags and the global options. Pure.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { UsageError } from '../lib/errors.js';
import { COMMANDS, type CommandSpec, type FlagValues, GLOBAL_OPTIONS } from './commands.js';

export interface ParsedCommandLine {
  /** undefined: top-level help. */
  command: CommandSpec | undefined;
  flags: FlagValues;
  positionals: string[];
  help: boolean;
  /** From --data-dir or MAILGATE_DATA_DIR; undefined = the config's dataDir. */
  dataDir: string | undefined;
  configPath: string | undefined;
  json: boolean;
}

/**
 * Picks the command whose words match the longest prefix of argv, then parses its flags strictly.
 * @throws UsageError for an unknown command or flag, a missing flag value or a wrong argument count.
 */
export function parseCommandLine(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  cwd = process.cwd(),
): ParsedCommandLine {
  const words: string[] = [];
  for (const arg of argv) {
    if (arg.startsWith('-')) break;
    words.push(arg);
  }
  let command: CommandSpec | undefined;
  for (const spec of COMMANDS) {
    if (spec.path.every((w, i) => words[i] === w) && (!command || spec.path.length > command.path.length)) {
      command = spec;
    }
  }
  const wantsHelp = argv.includes('--help') || argv.includes('-h');
  if (!command) {
    if (words.length === 0 && (wantsHelp || argv.length === 0)) {
      return { command: undefined, flags: {}, positionals: [], help: true, ...globals({}, env, cwd) };
    }
    // A group name (`ca`, `ca issue`) shows the commands under it.
    const group = words.join(' ');
    if (words.length > 0 && COMMANDS.some((spec) => spec.path.join(' ').startsWith(`${group} `))) {
      return { command: undefined, flags: {}, positionals: [group], help: true, ...globals({}, env, cwd) };
    }
    throw new UsageError(`unknown command '${words.join(' ') || argv[0]}' (see 'mailgate --help')`);
  }
  let parsed: { values: FlagValues; positionals: string[] };
  try {
    parsed = parseArgs({
      args: argv.slice(command.path.length),
      options: { ...GLOBAL_OPTIONS, ...command.options },
      allowPositionals: true,
      strict: true,
    }) as { values: FlagValues; positionals: string[] };
  } catch (cause) {
    throw new UsageError(`${command.path.join(' ')}: ${(cause as Error).message.split('\n')[0]}`, { cause });
  }
  const { values, positionals } = parsed;
  const help = values.help === true;
  const [min, max] = command.positionals ?? [0, 0];
  if (!help && (positionals.length < min || positionals.length > max)) {
    const what = positionals.length > max ? `unexpected argument '${positionals[max]}'` : 'missing argument';
    throw new UsageError(
      `${command.path.join(' ')}: ${what} (usage: mailgate ${command.path.join(' ')} ${command.usage})`,
    );
  }
  return { command, flags: values, positionals, help, ...globals(values, env, cwd) };
}

function globals(values: FlagValues, env: NodeJS.ProcessEnv, cwd: string) {
  const dirText = str(values['data-dir']) ?? (env.MAILGATE_DATA_DIR || undefined);
  const dataDir = dirText === undefined ? undefined : resolve(cwd, dirText);
  const explicit = str(values.config) ?? (env.MAILGATE_CONFIG || undefined);
  const fallback = resolve(cwd, 'mailgate.yaml');
  const configPath =
    explicit !== undefined ? resolve(cwd, explicit) : existsSync(fallback) ? fallback : undefined;
  return { dataDir, configPath, json: values.json === true };
}

function str(value: string | boolean | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** The --help text for one command, or the command list. */
export function helpText(command: CommandSpec | undefined, group?: string): string {
  if (command) {
    return [
      `Usage: mailgate ${command.path.join(' ')} ${command.usage}`.trimEnd(),
      '',
      command.summary,
      '',
      'Options:',
      ...Object.entries(command.options).map(
        ([name, o]) => `  --${name}${o.type === 'string' ? ' VALUE' : ''}`,
      ),
      '  --data-dir DIR   data directory (env MAILGATE_DATA_DIR, default ./data)',
      '  --config FILE    configuration file (env MAILGATE_CONFIG, default ./mailgate.yaml when present)',
      '  --json           one JSON document on stdout where the command lists or issues something',
      '  --help           this text',
    ].join('\n');
  }
  const listed = COMMANDS.filter((spec) => !group || spec.path.join(' ').startsWith(`${group} `));
  const width = Math.max(...listed.map((spec) => spec.path.join(' ').length));
  return [
    'Usage: mailgate <command> [options]',
    '',
    'Commands:',
    ...listed.map((spec) => `  ${spec.path.join(' ').padEnd(width)}   ${spec.summary}`),
    '',
    "Run 'mailgate <command> --help' for its options.",
  ].join('\n');
}
