/**
 * @module Ports for real servers that cannot pick their own (Apache, Radicale): a free one, and waiting
 * until the server accepts on it.
 */
import type { ChildProcess } from 'node:child_process';
import { connect, createServer } from 'node:net';

/** A port nobody listens on right now (Apache cannot be told to pick one). */
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

function accepting(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Waits until `port` accepts connections (15 s at most).
 * @throws Error when `child` exits first or the time is up (the child is killed then).
 */
export async function untilAccepting(port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!(await accepting(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`nothing accepts connections on port ${port}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
