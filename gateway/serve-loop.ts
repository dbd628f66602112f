/**
 * @module Runs a started gateway until SIGTERM/SIGINT, applying SIGHUP reloads: one loop for the single
 * process (`mailgate serve`) and for each worker under `workers`.
 */
import { MailgateError } from '../lib/errors.js';
import type { Config } from './config/schema.js';
import type { Gateway } from './gateway.js';
import type { Logger } from './logger.js';

export interface ServeLoop {
  /** Re-reads the configuration and applies it; a bad one is logged and the previous one kept. */
  reload: () => void;
  /** Resolves with the signal once a stop signal came and the gateway drained and closed. */
  stopped: Promise<NodeJS.Signals>;
}

/**
 * Installs the signal handlers. `readConfig` throws a MailgateError (ConfigError) for a bad configuration.
 * @example const { stopped } = serveUntilStopped(gateway, logger, () => loadConfig(options)); await stopped;
 */
export function serveUntilStopped(gateway: Gateway, logger: Logger, readConfig: () => Config): ServeLoop {
  const reload = () => {
    let next: Config;
    try {
      next = readConfig();
    } catch (error) {
      const message = error instanceof MailgateError ? error.message : String(error);
      logger.error(
        { err: message },
        'configuration reload refused; still serving the previous configuration',
      );
      return;
    }
    gateway.reload(next).catch((error: unknown) => logger.error({ err: error }, 'reload failed'));
  };
  const stopped = new Promise<NodeJS.Signals>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      logger.info({ signal }, 'draining');
      process.off('SIGHUP', reload);
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      gateway.close().then(
        () => resolve(signal),
        () => resolve(signal),
      );
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    process.on('SIGHUP', reload);
  });
  return { reload, stopped };
}
