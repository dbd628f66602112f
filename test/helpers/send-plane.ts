/**
 * @module Helpers for send-plane integration tests: h2 requests through the real curl (which, unlike
 * Node's client, sends a header twice when told to).
 */
import { execFile } from 'node:child_process';
import { expect } from 'vitest';
import { utcDay } from '../../tokens/token-bucket.js';
import { withDatabase } from './temp-store.js';

/** What the assertions read from any client's response. */
export interface SendPlaneResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * How many of a burst against a token's limit were admitted; fails (showing the bodies) on any answer
 * other than 200 or 429.
 */
export function admittedOf(responses: readonly SendPlaneResponse[]): number {
  const statuses = responses.map((r) => r.status);
  expect(
    statuses.filter((s) => s !== 200 && s !== 429),
    responses.map((r) => r.body).join(''),
  ).toEqual([]);
  return statuses.filter((s) => s === 200).length;
}

/**
 * One GET over h2 with curl (prior knowledge of TLS + ALPN h2), each entry of `headerLines` sent as is.
 * @example await curlH2(port, '/api/emails', ['authorization: Bearer a', 'authorization: Bearer b'])
 */
export function curlH2(
  port: number,
  path: string,
  headerLines: readonly string[],
): Promise<SendPlaneResponse> {
  const args = ['--http2', '--silent', '--insecure', '--include', '--max-time', '5'];
  for (const line of headerLines) args.push('--header', line);
  args.push('--resolve', `localhost:${port}:127.0.0.1`, `https://localhost:${port}${path}`);
  return new Promise((resolve, reject) => {
    execFile('curl', args, { encoding: 'utf8' }, (error, stdout) => {
      if (error) {
        reject(error);
        return;
      }
      const end = stdout.indexOf('\r\n\r\n');
      const [statusLine = '', ...lines] = stdout.slice(0, end).split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body: stdout.slice(end + 4) });
    });
  });
}

/** Today's stored quota count of a token (what the gateway flushed to token_usage). */
export function storedUsageToday(dataDir: string, id: string): number {
  const row = withDatabase(
    dataDir,
    (db) =>
      db
        .prepare('SELECT count FROM token_usage WHERE token_id = ? AND day = ?')
        .get(id, utcDay(Date.now())) as { count: number } | undefined,
  );
  return row?.count ?? 0;
}
