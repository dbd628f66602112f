import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tool } from '../helpers/ca-fixture.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

const DAY_MS = 86_400_000;

/** nextUpdate - lastUpdate of the data dir's CRL file, as openssl reads it. */
function crlValidityMs(gw: TestGateway): number {
  const path = join(gw.dataDir, 'ca', 'crl.pem');
  const text = tool('openssl', ['crl', '-in', path, '-noout', '-lastupdate', '-nextupdate']).stdout;
  const [lastUpdate, nextUpdate] = [...text.matchAll(/Update=(.+)/g)].map((m) => Date.parse(m[1]!));
  return nextUpdate! - lastUpdate!;
}

/** A gateway on an empty data dir with ca.crlDays 30 (the default is 7). */
function startWithCrlDays(tls?: { cert: string; key: string }) {
  return startTestGateway({
    ca: { crlDays: 30 },
    ...(tls && { tls }),
    upstreams: { app: { url: 'http://127.0.0.1:9' } },
    routes: [{ path: '/', upstream: 'app', auth: 'public' }],
  });
}

describe('the CA a starting gateway creates', () => {
  it('gets a first CRL of ca.crlDays with tls: auto', async () => {
    const gw = await startWithCrlDays();
    try {
      expect(crlValidityMs(gw)).toBe(30 * DAY_MS);
    } finally {
      await gw.close();
    }
  });

  it('gets a first CRL of ca.crlDays with certificate files (the CA still verifies admin certificates)', async () => {
    const source = await startWithCrlDays();
    try {
      const gw = await startWithCrlDays({
        cert: join(source.dataDir, 'tls', 'server.crt.pem'),
        key: join(source.dataDir, 'tls', 'server.key.pem'),
      });
      try {
        expect(crlValidityMs(gw)).toBe(30 * DAY_MS);
      } finally {
        await gw.close();
      }
    } finally {
      await source.close();
    }
  });
});
