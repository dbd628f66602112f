/**
 * @module Extra IPv6 addresses on `lo` for tests that need clients from distinct IPv6 sources (loopback
 * has only ::1): added with `ip`, removed after the test file.
 */
import { spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { onCleanup } from './cleanup.js';

/**
 * A random /48 of the documentation prefix (2001:db8::/32) as `2001:db8:XXXX`: test files running at the
 * same time on one machine each add addresses of their own.
 * @example `${testSite()}:1::5` // an address in the site's first /64
 */
export function testSite(): string {
  return `2001:db8:${randomInt(1, 0x10000).toString(16)}`;
}

/**
 * Adds each address to `lo` (a /128, without duplicate address detection, so it is usable at once) and
 * registers its removal with onCleanup. Needs root (CAP_NET_ADMIN): otherwise nothing is added and the
 * answer says why, for the test to skip with.
 * @returns undefined when every address was added, else the reason none can be
 */
export function addLoopbackAddresses(addresses: readonly string[]): string | undefined {
  if (process.getuid?.() !== 0) return 'adding IPv6 addresses to lo needs root (ip -6 addr add)';
  for (const address of addresses) {
    const added = spawnSync('ip', ['-6', 'addr', 'add', `${address}/128`, 'dev', 'lo', 'nodad'], {
      encoding: 'utf8',
    });
    if (added.error !== undefined || added.status !== 0)
      return `ip -6 addr add ${address}/128 dev lo failed: ${(added.error?.message ?? added.stderr).trim()}`;
    onCleanup(() => spawnSync('ip', ['-6', 'addr', 'del', `${address}/128`, 'dev', 'lo']));
  }
  return undefined;
}
