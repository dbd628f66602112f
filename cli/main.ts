#!/usr/bin/env node
/**
 * @module The `mailgate` entry point: the only place that exits.
 */
import { hostname, userInfo } from 'node:os';
import { resolve } from 'node:path';
import type { Config } from '../gateway/config/schema.js';
import { MailgateError, UsageError } from '../lib/errors.js';
import type { CliContext } from './context.js';
import { helpText, parseCommandLine } from './parse.js';

async function main(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(argv, process.env);
  if (parsed.help) {
    process.stdout.write(`${helpText(parsed.command, parsed.positionals[0])}\n`);
    return 0;
  }
  let config: Promise<Config> | undefined;
  // Loaded on demand: zod and yaml cost ~70 ms of start-up that `ca list` or `audit` do not need.
  const loadOnce = () => {
    config ??= import('../gateway/config/load.js').then(({ loadConfig }) =>
      loadConfig({ configPath: parsed.configPath, env: process.env, dataDir: parsed.dataDir }),
    );
    return config;
  };
  const ctx: CliContext = {
    dataDir: parsed.dataDir ?? (parsed.configPath ? (await loadOnce()).dataDir : resolve('data')),
    config: loadOnce,
    configPath: parsed.configPath,
    json: parsed.json,
    env: process.env,
    out: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
    outBinary: process.stdout.isTTY ? undefined : (bytes) => process.stdout.write(bytes),
    err: (text) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
    actor: `cli:${safeUser()}@${hostname()}`,
  };
  await parsed.command!.run(parsed.flags, parsed.positionals, ctx);
  return 0;
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return String(process.getuid?.() ?? 'unknown');
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof MailgateError) {
      // One line per problem (a config can have several).
      for (const line of error.message.split('\n')) process.stderr.write(`mailgate: ${line}\n`);
      process.exitCode = error instanceof UsageError ? 2 : 1;
    } else {
      process.stderr.write(`mailgate: internal error: ${(error as Error)?.stack ?? String(error)}\n`);
      process.exitCode = 1;
    }
  },
);
