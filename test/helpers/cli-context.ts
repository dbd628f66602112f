/**
 * @module The context a CLI command receives, for calling commands as functions in tests: output
 * captured, no environment, a fixed actor.
 */
import type { CliContext } from '../../cli/context.js';
import type { Config } from '../../gateway/config/schema.js';

export interface CapturedContext extends CliContext {
  /** What the command wrote with out() (data, the --json document). */
  stdout: string[];
  /** What the command wrote with err() (human messages). */
  stderr: string[];
}

export interface CliContextOptions {
  dataDir: string;
  json?: boolean;
  /** The configuration the command sees; by default a command that asks for one fails. */
  config?: () => Config | Promise<Config>;
}

/**
 * @example const ctx = cliContext({ dataDir, json: true }); await tokenList(ctx); JSON.parse(ctx.stdout.join(''))
 */
export function cliContext({ dataDir, json = false, config }: CliContextOptions): CapturedContext {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return {
    dataDir,
    configPath: undefined,
    json,
    env: {},
    out: (text) => stdout.push(text),
    err: (text) => stderr.push(text),
    config: async () => {
      if (!config) throw new Error('this test gave the command no configuration');
      return config();
    },
    actor: 'cli:test@host',
    stdout,
    stderr,
  };
}
