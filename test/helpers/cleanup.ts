/**
 * @module Cleanup that fixtures register themselves, so a test cannot forget it: after the test when
 * created inside one (or its beforeEach), otherwise after the test file (test/helpers/setup.ts).
 */
import { onTestFinished } from 'vitest';

const afterFile: Array<() => unknown> = [];

/**
 * Runs `cleanup` when the current test finishes, or, when called outside a test (at collection or in
 * beforeAll), after the file's own afterAll hooks. Cleanups run newest first.
 */
export function onCleanup(cleanup: () => unknown): void {
  try {
    onTestFinished(async () => {
      await cleanup();
    });
  } catch {
    afterFile.push(cleanup);
  }
}

/**
 * Registers a fixture's `close` with onCleanup and returns it made idempotent (a later call gets the first
 * call's result), for tests that close the fixture earlier themselves.
 * @example return { ...server, close: closedOnCleanup(() => server.close()) };
 */
export function closedOnCleanup<T>(close: () => T): () => T {
  let closed: { result: T } | undefined;
  const closeOnce = () => {
    closed ??= { result: close() };
    return closed.result;
  };
  onCleanup(closeOnce);
  return closeOnce;
}

/** Runs the file-level cleanups, newest first, all of them even when one fails. Called by setup.ts. */
export async function runFileCleanups(): Promise<void> {
  const failures: unknown[] = [];
  for (let cleanup = afterFile.pop(); cleanup; cleanup = afterFile.pop()) {
    try {
      await cleanup();
    } catch (error) {
      failures.push(error);
    }
  }
  if (failures.length > 0) throw new AggregateError(failures, 'test cleanup failed');
}
