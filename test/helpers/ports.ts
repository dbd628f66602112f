/**
 * @module Ports for real servers that cannot pick their own (Apache, Radicale, nginx, Redis): a free one,
 * waiting until the server itself listens on it, and starting one again on another port when the picked
 * one was taken in between.
 */
import { type ChildProcess, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';

/**
 * A port nobody listens on right now. The server told to use it binds it later, and another process (a
 * test file running beside this one) may take it first: spawnOnFreePort starts a server with that in mind.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/** Whether `child` itself listens on `port` (ss names each listening socket's processes). */
function listensOn(port: number, child: ChildProcess): boolean {
  const sockets = spawnSync('ss', ['-ltnpH', `( sport = :${port} )`], { encoding: 'utf8' }).stdout;
  return sockets.includes(`pid=${child.pid},`);
}

/**
 * Waits until `child` listens on `port` (15 s at most): the child itself, so a server that failed to bind
 * a port another process took is not mistaken for a started one.
 * @throws Error when `child` exits first or the time is up (the child is killed then).
 */
export async function untilAccepting(port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!listensOn(port, child)) {
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`process ${child.pid} does not listen on port ${port}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Starts a server that is told its port (`spawnOn(port)` spawns it) on a free port and resolves once it
 * listens there; when it does not (the port was taken between freePort and its bind), it is killed and
 * started again on another port, three attempts in all.
 * @example const { child, port } = await spawnOnFreePort((port) => spawn('nginx', [...]))
 */
export async function spawnOnFreePort(
  spawnOn: (port: number) => ChildProcess,
): Promise<{ child: ChildProcess; port: number }> {
  let failure: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const child = spawnOn(port);
    try {
      await untilAccepting(port, child);
      return { child, port };
    } catch (error) {
      failure = error;
    }
  }
  throw failure;
}
