/**
 * @module `mailgate serve`: run the gateway until SIGTERM/SIGINT; SIGHUP reloads the configuration.
 */
import { loadConfig } from '../../gateway/config/load.js';
import { Gateway } from '../../gateway/gateway.js';
import { createLogger } from '../../gateway/logger.js';
import { MailgateError } from '../../lib/errors.js';
import type { CliContext } from '../context.js';

/** Resolves once the gateway has drained and closed after a stop signal. */
export async function serve(ctx: CliContext): Promise<void> {
  const config = await ctx.config();
  const logger = createLogger({ level: config.log.level });
  const gateway = await Gateway.start({ config, logger });
  const { https } = gateway.addresses;
  ctx.err(
    `mailgate: serving https://${https.address.includes(':') ? `[${https.address}]` : https.address}:${https.port}/ (data: ${config.dataDir})`,
  );
  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      logger.info({ signal }, 'draining');
      process.off('SIGHUP', reload);
      gateway.close().then(resolve, resolve);
    };
    const reload = () => {
      try {
        const next = loadConfig({ configPath: ctx.configPath, env: ctx.env, dataDir: config.dataDir });
        gateway.reload(next).catch((error: unknown) => logger.error({ err: error }, 'reload failed'));
      } catch (error) {
        const message = error instanceof MailgateError ? error.message : String(error);
        logger.error(
          { err: message },
          'configuration reload refused; still serving the previous configuration',
        );
      }
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    process.on('SIGHUP', reload);
  });
  logger.info('stopped');
  logger.flush();
}
