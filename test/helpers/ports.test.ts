/**
 * The port helpers for servers that cannot pick their own port: a server that finds its port taken (by a
 * test file running beside it) is started again elsewhere, and a port someone else listens on is never
 * taken for the server's.
 */
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { expect, it } from 'vitest';
import { onCleanup } from './cleanup.js';
import { spawnOnFreePort, untilAccepting } from './ports.js';

/** `node` listening on `port` (exits 1 with EADDRINUSE when it is taken), killed after the test. */
function nodeListeningOn(port: number) {
  const child = spawn(
    process.execPath,
    ['-e', `require('node:net').createServer().listen(${port}, '127.0.0.1')`],
    { stdio: 'ignore' },
  );
  onCleanup(() => child.kill('SIGKILL'));
  return child;
}

/** Another process's listener on `port`, as a concurrent test would hold it. */
async function occupy(port: number): Promise<Server> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  onCleanup(() => new Promise((resolve) => server.close(resolve)));
  return server;
}

it('starts the server again on another port when it could not bind the one picked', async () => {
  const tried: number[] = [];
  const { child, port } = await spawnOnFreePort((free) => {
    tried.push(free);
    // The first server exits as one does when another process took its port between freePort and its bind.
    if (tried.length === 1) return spawn(process.execPath, ['-e', 'process.exit(1)'], { stdio: 'ignore' });
    return nodeListeningOn(free);
  });
  expect(tried).toHaveLength(2);
  expect(port).toBe(tried[1]);
  expect(child.exitCode).toBeNull();
});

it('does not take a port another process listens on for the server it waits for', async () => {
  const blocker = await occupy(0);
  const port = (blocker.address() as { port: number }).port;
  const child = nodeListeningOn(port);
  await expect(untilAccepting(port, child)).rejects.toThrow(`does not listen on port ${port}`);
});
