/**
 * @module Polling for a condition the gateway reaches on its own time (a store change seen, an access
 * line written, a socket closed): the one `eventually` of the test suite; and `clockReaches` for a
 * promised delay.
 */

/** How long `eventually` waits by default: generous, the machine running the tests is shared. */
export const EVENTUALLY_MS = 5_000;

/**
 * Calls `check` until it returns something other than `false` without throwing, and returns that. At the
 * deadline it fails loudly: the last error `check` threw (an `expect` failure keeps its diff), or an
 * error saying the condition stayed false.
 * @param timeoutMs the deadline; a test that pins a promised delay (revocation within a second) passes it.
 * @example await eventually(async () => expect((await send(token)).status).toBe(401), 1_000)
 * @example await eventually(() => echo.received.length > 0)
 */
export async function eventually<T>(
  check: () => T | Promise<T>,
  timeoutMs = EVENTUALLY_MS,
  everyMs = 25,
): Promise<Exclude<T, false>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let failure: unknown;
    try {
      const result = await check();
      if (result !== false) return result as Exclude<T, false>;
      failure = new Error(`eventually: the condition was still false after ${timeoutMs} ms`);
    } catch (error) {
      failure = error;
    }
    if (Date.now() >= deadline) throw failure;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/**
 * Resolves once the clock reads `at` (at once when it already does). A promised delay ("refused within a
 * second of the revocation") is checked by asking once at that moment: polling under a deadline lets each
 * poll's own latency (a TLS handshake on a loaded machine) eat into the promise and fail the test.
 * @example await clockReaches(revokedAt + 1_000); expect((await send(token)).status).toBe(401);
 */
export function clockReaches(at: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, at - Date.now())));
}
