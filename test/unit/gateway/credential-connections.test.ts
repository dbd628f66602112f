import { afterEach, describe, expect, it, vi } from 'vitest';
import { CredentialConnections } from '../../../gateway/credential-connections.js';
import type { Credential } from '../../../gateway/plane-guard.js';

const DAY_MS = 86_400_000;

afterEach(() => {
  vi.useRealTimers();
});

function cert(id: string, expiresAt = Date.now() + DAY_MS): Credential {
  return { kind: 'certificate', id, expiresAt };
}

describe('CredentialConnections', () => {
  it('ends the connections of a revoked credential only, once', () => {
    const connections = new CredentialConnections();
    const ended: string[] = [];
    connections.track(cert('aa'), () => ended.push('aa-1'));
    connections.track(cert('aa'), () => ended.push('aa-2'));
    connections.track(cert('bb'), () => ended.push('bb'));
    connections.track({ kind: 'token', id: 'aa', expiresAt: Date.now() + DAY_MS }, () => ended.push('token'));
    const revoked = connections.revoke((c) => c.kind === 'certificate' && c.id === 'aa');
    expect(revoked.map((c) => c.id)).toEqual(['aa']);
    expect(ended).toEqual(['aa-1', 'aa-2']);
    expect(connections.revoke((c) => c.id === 'aa' && c.kind === 'certificate')).toEqual([]);
    expect(connections.size).toBe(2);
  });

  it('forgets a credential when its last connection closes by itself', () => {
    const connections = new CredentialConnections();
    const untrackOne = connections.track(cert('aa'), () => {});
    const untrackTwo = connections.track(cert('aa'), () => {});
    untrackOne();
    expect(connections.size).toBe(1);
    untrackTwo();
    expect(connections.size).toBe(0);
  });

  it('an old untrack does not forget a newer entry for the same credential', () => {
    const connections = new CredentialConnections();
    const ended: string[] = [];
    const untrackOld = connections.track(cert('aa'), () => ended.push('old'));
    connections.revoke(() => true);
    connections.track(cert('aa'), () => ended.push('new'));
    untrackOld();
    connections.revoke(() => true);
    expect(ended).toEqual(['old', 'new']);
  });

  it('ends connections at expiry, also beyond the longest setTimeout delay', () => {
    vi.useFakeTimers({ now: 0 });
    const connections = new CredentialConnections();
    const ended: string[] = [];
    connections.track(cert('soon', 5_000), () => ended.push('soon'));
    connections.track(cert('late', 90 * DAY_MS), () => ended.push('late'));
    vi.advanceTimersByTime(4_999);
    expect(ended).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(ended).toEqual(['soon']);
    vi.advanceTimersByTime(90 * DAY_MS - 5_001);
    expect(ended).toEqual(['soon']);
    vi.advanceTimersByTime(1);
    expect(ended).toEqual(['soon', 'late']);
    expect(connections.size).toBe(0);
  });

  it('ends at once a connection whose credential has already expired', () => {
    const connections = new CredentialConnections();
    let ended = false;
    connections.track(cert('gone', Date.now() - 1), () => {
      ended = true;
    });
    expect(ended).toBe(true);
    expect(connections.size).toBe(0);
  });
});
