/**
 * @module `mailgate check-config`: validate and report every problem (one per line, through the CLI's
 * error output).
 */
import type { CliContext } from '../context.js';

export async function checkConfig(ctx: CliContext): Promise<void> {
  const config = await ctx.config();
  const where = ctx.configPath ?? 'built-in defaults';
  if (ctx.json) ctx.out(JSON.stringify({ ok: true, config: where, routes: config.routes.length }));
  else
    ctx.err(
      `${where}: OK (${config.routes.length} routes, ${Object.keys(config.upstreams).length} upstreams)`,
    );
}
