/**
 * @module `mailgate check-config`: validate and report every problem, one per line.
 */
import { configProblems } from '../../gateway/config/load.js';
import { ConfigError } from '../../lib/errors.js';
import type { CliContext } from '../context.js';

export async function checkConfig(ctx: CliContext): Promise<void> {
  try {
    const config = await ctx.config();
    const where = ctx.configPath ?? 'built-in defaults';
    if (ctx.json) ctx.out(JSON.stringify({ ok: true, config: where, routes: config.routes.length }));
    else
      ctx.err(
        `${where}: OK (${config.routes.length} routes, ${Object.keys(config.upstreams).length} upstreams)`,
      );
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const problems = configProblems(error);
    for (const problem of problems.slice(0, -1)) ctx.err(`mailgate: ${problem}`);
    throw new ConfigError('', problems.at(-1)!);
  }
}
