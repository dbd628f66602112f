/**
 * @module A real redis-server (Debian's) on a free port for tests: nothing saved to disk, stopped in the
 * file's cleanup, and stoppable and startable again on the same port (Redis going away mid-run).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { Redis } from 'ioredis';
import { onCleanup } from './cleanup.js';
import { freePort, untilAccepting } from './ports.js';

export interface TestRedis {
  port: number;
  url: string;
  /** A plain client for the test's own reads and writes (hostile values, checks). */
  client: Redis;
  /** Stops the server (SIGKILL: gone at once, as a crash or a network cut would be). */
  stop(): Promise<void>;
  /** Starts it again on the same port, empty. */
  start(): Promise<void>;
}

/** Starts redis-server on a free port; it is stopped when the test (or file) finishes. */
export async function startRedis(): Promise<TestRedis> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = async () => {
    const server = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    child = server;
    await untilAccepting(port, server);
  };
  const stop = async () => {
    const server = child;
    child = undefined;
    if (!server || server.exitCode !== null) return;
    const exited = new Promise((resolve) => server.once('exit', resolve));
    server.kill('SIGKILL');
    await exited;
  };
  await start();
  const client = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 1, lazyConnect: false });
  client.on('error', () => {});
  onCleanup(async () => {
    client.disconnect();
    await stop();
  });
  return { port, url: `redis://127.0.0.1:${port}`, client, stop, start };
}
