/**
 * @module `mailgate serve`: run the gateway until SIGTERM/SIGINT; SIGHUP reloads the configuration. With
 * `--workers N` (or `workers:` in the config) above 1, this process becomes the primary of N workers.
 */
import { availableParallelism } from 'node:os';
import { parseWorkersFlag, resolveWorkerCount } from '../../gateway/cluster-protocol.js';
import { loadConfig } from '../../gateway/config/load.js';
import type { Gateway } from '../../gateway/gateway.js';
import { MailgateError } from '../../lib/errors.js';
import type { FlagValues } from '../command-spec.js';
import type { CliContext } from '../context.js';

/** Resolves once the gateway (every worker) has drained and closed after a stop signal. */
export async function serve(flags: FlagValues, ctx: CliContext): Promise<void> {
  const config = await ctx.config();
  const workers = resolveWorkerCount(
    parseWorkersFlag(flags.workers) ?? config.workers,
    availableParallelism(),
  );
  if (workers > 1) {
    const { startPrimary } = await import('../../gateway/cluster-primary.js');
    const primary = await startPrimary({ config, configPath: ctx.configPath, env: ctx.env, workers });
    ctx.err(
      `mailgate: serving ${servingUrl(primary.addresses.https)} (data: ${config.dataDir}, workers: ${workers})`,
    );
    if ((await primary.stopped) !== 0)
      throw new MailgateError('ERR_CLOSED', 'a worker did not drain cleanly');
    return;
  }
  // Imported here, not at the top: the primary of workers serves no request and never loads them.
  const [{ Gateway }, { createLogger }, { serveUntilStopped }, { connectSharedCluster }] = await Promise.all([
    import('../../gateway/gateway.js'),
    import('../../gateway/logger.js'),
    import('../../gateway/serve-loop.js'),
    import('../../gateway/shared-state.js'),
  ]);
  const logger = createLogger({ level: config.log.level });
  const shared = await connectSharedCluster(config, logger);
  let gateway: Gateway;
  try {
    gateway = await Gateway.start({ config, logger, ...(shared ? { shared } : {}) });
  } catch (error) {
    await shared?.close();
    throw error;
  }
  ctx.err(`mailgate: serving ${servingUrl(gateway.addresses.https)} (data: ${config.dataDir})`);
  const { stopped } = serveUntilStopped(gateway, logger, () =>
    loadConfig({ configPath: ctx.configPath, env: ctx.env, dataDir: config.dataDir }),
  );
  await stopped;
  await shared?.close();
  logger.info('stopped');
  logger.flush();
}

/** The public listener's URL, as printed at start (tests and operators read it). */
export function servingUrl({ address, port }: { address: string; port: number }): string {
  return `https://${address.includes(':') ? `[${address}]` : address}:${port}/`;
}
