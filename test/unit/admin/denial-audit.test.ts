import { describe, expect, it } from 'vitest';
import { type AdminDenial, createDenialAudit } from '../../../admin/denial-audit.js';
import { LimitKeys } from '../../../gateway/limit-key.js';
import { readAudit } from '../../../store/audit.js';
import { AuditBuffer } from '../../../store/audit-buffer.js';
import { tempDatabase } from '../../helpers/temp-store.js';

const T = Date.parse('2026-12-01T00:00:00Z');
const keys = new LimitKeys(64);
const keyOf = (address: string) => keys.of(address);

/** A denial of a request that presented no certificate. */
const uncertified = (client: string, reason: AdminDenial['reason'], target: string): AdminDenial => ({
  client,
  reason,
  principal: undefined,
  target,
});

describe('createDenialAudit', () => {
  it('tallies per client, reason and certificate per window, with the first target truncated', () => {
    const { db } = tempDatabase();
    let now = T;
    const audit = new AuditBuffer(db, () => now);
    const recordDenial = createDenialAudit({ audit, keyOf, windowMs: 60_000, now: () => now });
    for (let i = 0; i < 1000; i++)
      recordDenial(uncertified('203.0.113.9', 'no_certificate', `GET /${'x'.repeat(300)}${i}`));
    recordDenial(uncertified('203.0.113.9', 'source_not_allowed', 'GET /a'));
    recordDenial({
      client: '10.8.0.2',
      reason: 'role_not_allowed',
      principal: 'abc',
      target: 'POST /b',
      detail: { cn: 'v', role: 'viewer' },
    });
    audit.flush();
    now = T + 60_000;
    recordDenial(uncertified('203.0.113.9', 'no_certificate', 'GET /next-window'));
    audit.close();
    const rows = readAudit(db, 0);
    expect(rows).toHaveLength(4);
    expect(rows[0]).toMatchObject({ actor: 'addr:203.0.113.9', outcome: 'denied', action: 'admin.access' });
    expect(rows[0]!.target).toHaveLength(121);
    expect(rows[0]!.detail).toMatchObject({
      client: '203.0.113.9',
      reason: 'no_certificate',
      count: 1000,
      windowSeconds: 60,
    });
    expect(rows[2]).toMatchObject({ actor: 'cert:abc', detail: { cn: 'v', role: 'viewer', count: 1 } });
    expect(rows[3]).toMatchObject({ target: 'GET /next-window', detail: { count: 1 } });
  });

  it('tallies the addresses of one IPv6 /64 as one client, showing the first address and the prefix', () => {
    const { db } = tempDatabase();
    const audit = new AuditBuffer(db, () => T);
    const recordDenial = createDenialAudit({ audit, keyOf, now: () => T });
    for (let i = 1; i <= 5000; i++)
      recordDenial(
        uncertified(`2001:db8:7:1:${i.toString(16)}::${i.toString(16)}`, 'no_certificate', 'GET /'),
      );
    recordDenial(uncertified('2001:db8:7:2::1', 'no_certificate', 'GET /'));
    recordDenial(uncertified('::ffff:192.0.2.1', 'no_certificate', 'GET /'));
    recordDenial(uncertified('192.0.2.1', 'no_certificate', 'GET /'));
    audit.close();
    const rows = readAudit(db, 0);
    expect(rows.map((row) => [row.actor, row.detail])).toEqual([
      [
        'addr:2001:db8:7:1:1::1',
        expect.objectContaining({
          client: '2001:db8:7:1:1::1',
          clientPrefix: '2001:db8:7:1::/64',
          count: 5000,
        }),
      ],
      [
        'addr:2001:db8:7:2::1',
        expect.objectContaining({ client: '2001:db8:7:2::1', clientPrefix: '2001:db8:7:2::/64', count: 1 }),
      ],
      ['addr:::ffff:192.0.2.1', expect.not.objectContaining({ clientPrefix: expect.anything() })],
    ]);
    expect(rows[2]!.detail).toMatchObject({ client: '::ffff:192.0.2.1', count: 2 });
  });

  it('folds clients past the per-window cap into one row per reason', () => {
    const { db } = tempDatabase();
    const audit = new AuditBuffer(db, () => T);
    const recordDenial = createDenialAudit({ audit, keyOf, maxTalliesPerWindow: 10, now: () => T });
    for (let i = 0; i < 5000; i++)
      recordDenial(uncertified(`2001:db8:${i.toString(16)}::1`, 'no_certificate', 'GET /'));
    audit.close();
    const rows = readAudit(db, 0);
    expect(rows).toHaveLength(11);
    expect(rows.at(-1)).toMatchObject({ actor: 'addr:*', detail: { client: '*', count: 4990 } });
  });
});
