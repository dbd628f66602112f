import { describe, expect, it } from 'vitest';
import {
  appendAudit,
  auditActions,
  checkAuditLimit,
  checkAuditTime,
  pruneAudit,
  readAuditPage,
} from '../../../store/audit.js';
import { AuditBuffer } from '../../../store/audit-buffer.js';
import { tempDatabase } from '../../helpers/temp-store.js';

const T = Date.parse('2026-12-01T00:00:00Z');

describe('readAuditPage', () => {
  it('filters by actor, exact action, literal action prefix and outcome, on every page', () => {
    const { db } = tempDatabase();
    appendAudit(db, { actor: 'cli:root', action: 'cert.issue', target: 'a', at: T + 1 });
    appendAudit(db, { actor: 'cert:01', action: 'cert.revoke', target: 'a', at: T + 3 });
    appendAudit(db, { actor: 'addr:10.8.0.9', action: 'admin.access', outcome: 'denied', at: T + 2 });
    appendAudit(db, { actor: 'cert:01', action: 'token.issue', target: 't', at: T + 3 });
    appendAudit(db, { actor: 'cli:root', action: 'cert_x', target: 'x', at: T + 4 });
    const actions = (query: Omit<Parameters<typeof readAuditPage>[1], 'limit'>) =>
      readAuditPage(db, { ...query, limit: 10 }).entries.map((entry) => entry.action);
    expect(actions({ actor: 'cert:01' })).toEqual(['token.issue', 'cert.revoke']);
    expect(actions({ action: 'cert.issue' })).toEqual(['cert.issue']);
    // The prefix matches literally: '_' is no wildcard, so cert_x stays out of 'cert.'.
    expect(actions({ action: 'cert.' })).toEqual(['cert.revoke', 'cert.issue']);
    expect(actions({ action: 'cert_' })).toEqual([]);
    expect(actions({ outcome: 'denied' })).toEqual(['admin.access']);
    expect(actions({ since: T + 2, before: T + 4, actor: 'cert:01' })).toEqual([
      'token.issue',
      'cert.revoke',
    ]);
    // A filtered page that ends inside a millisecond keeps the filter for the rest of it.
    const first = readAuditPage(db, { actor: 'cert:01', limit: 1 });
    expect(first.entries.map((entry) => entry.actor)).toEqual(['cert:01', 'cert:01']);
    expect(auditActions(db)).toEqual(['admin.access', 'cert.issue', 'cert.revoke', 'cert_x', 'token.issue']);
  });

  it('pages newest first without skipping or repeating records that share a millisecond', () => {
    const { db } = tempDatabase();
    // Times: 10 distinct, then 5 in one millisecond, then 3 more.
    const times = [
      ...Array.from({ length: 10 }, (_, i) => T + i),
      ...Array(5).fill(T + 20),
      T + 30,
      T + 31,
      T + 32,
    ];
    for (const [i, at] of times.entries()) appendAudit(db, { actor: 'test', action: `a${i}`, at });
    const seen: string[] = [];
    let before: number | undefined;
    let pages = 0;
    do {
      const page = readAuditPage(db, { before, limit: 4 });
      expect(page.entries.length).toBeGreaterThan(0);
      for (let i = 1; i < page.entries.length; i++)
        expect(page.entries[i - 1]!.at).toBeGreaterThanOrEqual(page.entries[i]!.at);
      seen.push(...page.entries.map((entry) => entry.action));
      before = page.next;
      pages++;
    } while (before !== undefined && pages < 20);
    expect(seen).toHaveLength(times.length);
    expect(new Set(seen).size).toBe(times.length);
    expect(seen[0]).toBe('a17');
  });

  it('keeps a page that is all one millisecond whole, and reports no next on the last page', () => {
    const { db } = tempDatabase();
    for (let i = 0; i < 6; i++) appendAudit(db, { actor: 'test', action: `same${i}`, at: T });
    appendAudit(db, { actor: 'test', action: 'older', at: T - 1 });
    const first = readAuditPage(db, { limit: 3 });
    expect(first.entries.map((e) => e.action)).toEqual([
      'same5',
      'same4',
      'same3',
      'same2',
      'same1',
      'same0',
    ]);
    expect(first.next).toBe(T);
    const second = readAuditPage(db, { limit: 3, before: first.next });
    expect(second.entries.map((e) => e.action)).toEqual(['older']);
    expect(second.next).toBeUndefined();
    expect(readAuditPage(db, { limit: 10, since: T }).entries).toHaveLength(6);
  });

  it('prunes records older than a time', () => {
    const { db } = tempDatabase();
    appendAudit(db, { actor: 'test', action: 'old', at: T - 100 * 86_400_000 });
    appendAudit(db, { actor: 'test', action: 'new', at: T });
    expect(pruneAudit(db, T - 90 * 86_400_000)).toBe(1);
    expect(readAuditPage(db, { limit: 10 }).entries.map((e) => e.action)).toEqual(['new']);
  });

  it('checks --limit and --before on one line naming the flag', () => {
    expect(checkAuditLimit(undefined)).toBe(100);
    expect(checkAuditLimit('5')).toBe(5);
    for (const bad of ['0', '-1', '1.5', '10001', 'x', ''])
      expect(() => checkAuditLimit(bad)).toThrow(/^--limit must be a whole number from 1 to 10000/);
    expect(checkAuditTime('2026-12-01T00:00:00.000Z')).toBe(T);
    expect(checkAuditTime('2026-12-01T01:00:00+01:00')).toBe(T);
    for (const bad of ['yesterday', '2026-12-01', '2026-13-01T00:00:00Z', '1764547200000'])
      expect(() => checkAuditTime(bad)).toThrow(/^--before must be an ISO 8601 time/);
  });
});

describe('AuditBuffer.tally', () => {
  it('counts into one row across flushes until the window ends, then starts another', () => {
    const { db } = tempDatabase();
    let now = T;
    const buffer = new AuditBuffer(db, () => now);
    const make = () => ({
      actor: 'addr:10.0.0.9',
      action: 'admin.access',
      target: 'GET /x',
      outcome: 'denied' as const,
    });
    for (let i = 0; i < 3; i++) buffer.tally('w1', T + 1000, make);
    buffer.flush();
    now = T + 500;
    for (let i = 0; i < 4; i++) buffer.tally('w1', T + 1000, make);
    buffer.flush();
    let rows = readAuditPage(db, { limit: 10 }).entries;
    expect(rows).toHaveLength(1);
    expect(rows[0]!.detail).toMatchObject({ count: 7, last: T + 500 });
    now = T + 1000;
    buffer.tally('w2', T + 2000, make);
    buffer.close();
    rows = readAuditPage(db, { limit: 10 }).entries;
    expect(rows).toHaveLength(2);
    expect(rows.map((row) => row.detail?.count)).toEqual([1, 7]);
  });
});

describe('AuditBuffer.count', () => {
  it('counts a repeat of a queued record without its make, and nothing once the batch is written', () => {
    const { db } = tempDatabase();
    const buffer = new AuditBuffer(db, () => T);
    let made = 0;
    const make = () => {
      made++;
      return { actor: 'cert:01', action: 'admin.access', target: 'GET /x', outcome: 'ok' as const };
    };
    expect(buffer.count('k')).toBe(false);
    buffer.push('k', make);
    expect(buffer.count('k')).toBe(true);
    expect(buffer.count('k')).toBe(true);
    buffer.push('k', make);
    buffer.flush();
    expect(buffer.count('k')).toBe(false);
    buffer.close();
    expect(made).toBe(1);
    const rows = readAuditPage(db, { limit: 10 }).entries;
    expect(rows.map((row) => row.detail?.count)).toEqual([4]);
    expect(() => buffer.count('k')).toThrow(/closed/);
  });
});
