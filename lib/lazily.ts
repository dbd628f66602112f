/**
 * @module Loading on first use: what serving does not need at idle (the admin API and console, jose) is
 * imported when first asked for, so an idle gateway or worker never holds it (issue 15 point 4).
 */

/**
 * Runs `load` once, on the first call, and hands every caller its promise; a failed load is retried on the
 * next call rather than cached.
 * @example const api = lazily(() => import('./api.js')); (await api()).serve(request);
 */
export function lazily<T>(load: () => Promise<T>): () => Promise<T> {
  let loading: Promise<T> | undefined;
  return () => {
    loading ??= load().catch((error: unknown) => {
      loading = undefined;
      throw error;
    });
    return loading;
  };
}
