/**
 * @module The entry point of a `workers: N` worker process (forked by gateway/cluster-primary.ts): its only
 * exit point.
 */
import { MailgateError } from '../lib/errors.js';
import { runWorker } from './cluster-worker.js';

runWorker().then(
  (code) => {
    // The IPC channel would keep the process alive after the drain.
    process.exit(code);
  },
  (error: unknown) => {
    const text = error instanceof MailgateError ? error.message : ((error as Error)?.stack ?? String(error));
    for (const line of text.split('\n')) process.stderr.write(`mailgate: ${line}\n`);
    process.exit(1);
  },
);
