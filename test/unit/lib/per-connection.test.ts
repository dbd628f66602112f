import { describe, expect, it } from 'vitest';
import { PerConnection } from '../../../lib/per-connection.js';

/** Connections are plain objects here (an HTTP/1.1 socket or an h2 session in the gateway). */
function counting() {
  const reads: string[] = [];
  const cache = new PerConnection<{ n: number; by: string }>();
  const read = (request: string) => {
    reads.push(request);
    return { n: reads.length, by: request };
  };
  return {
    get: (connection: object | undefined, request: string) => cache.get(connection, request, read),
    reads,
  };
}

describe('PerConnection', () => {
  it('reads once per connection, whatever the number of requests on it', () => {
    const { get, reads } = counting();
    const connection = {};
    const first = get(connection, 'r1');
    expect(get(connection, 'r2')).toBe(first);
    expect(get(connection, 'r3')).toBe(first);
    expect(reads).toEqual(['r1']);
  });

  it('never hands one connection the value of another, interleaved in any order', () => {
    const { get, reads } = counting();
    const connections = [{}, {}, {}, {}];
    const values = connections.map((connection, i) => get(connection, `first-${i}`));
    expect(new Set(values).size).toBe(4);
    for (const i of [3, 0, 2, 1, 1, 3]) expect(get(connections[i], `again-${i}`)).toBe(values[i]);
    expect(reads).toEqual(['first-0', 'first-1', 'first-2', 'first-3']);
  });

  it('keeps nothing without a connection (a stream whose session is gone): each request reads afresh', () => {
    const { get, reads } = counting();
    const first = get(undefined, 'r1');
    expect(get(undefined, 'r2')).not.toBe(first);
    expect(reads).toEqual(['r1', 'r2']);
  });
});
