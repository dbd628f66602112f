import { describe, expect, it } from 'vitest';
import { forwardHeaders, responseHeaders } from '../../../gateway/forward-headers.js';

const base = {
  clientAddress: '203.0.113.9',
  host: 'mail.example.com',
  requestId: 'rid',
  keepApiKey: false,
  keepAuthorization: true,
};

describe('forwardHeaders', () => {
  it('removes identity, forwarding and hop-by-hop headers, including those named in Connection', () => {
    const out = forwardHeaders(
      {
        host: 'mail.example.com',
        'x-mailgate-client-cn': 'root',
        'x-forwarded-for': '6.6.6.6',
        'x-forwarded-proto': 'http',
        forwarded: 'for=6.6.6.6',
        'x-real-ip': '6.6.6.6',
        'x-client-ip': '1',
        'x-ssl-client-s-dn': 'CN=root',
        'client-cert': ':x:',
        'client-cert-chain': ':x:',
        'x-api-key': 'k',
        connection: 'keep-alive, X-Secret',
        'x-secret': 's',
        'keep-alive': 'timeout=5',
        'transfer-encoding': 'chunked',
        te: 'trailers',
        upgrade: 'h2c',
        ':path': '/x',
        accept: 'text/html',
      },
      base,
    );
    expect(out).toEqual({
      accept: 'text/html',
      host: 'mail.example.com',
      'x-forwarded-for': '203.0.113.9',
      'x-real-ip': '203.0.113.9',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'mail.example.com',
      'x-request-id': 'rid',
    });
  });

  it('keeps X-API-Key only where asked (admin routes) and drops Authorization where asked (token routes)', () => {
    const inbound = { 'x-api-key': 'k', authorization: 'Bearer t' };
    expect(forwardHeaders(inbound, { ...base, keepApiKey: true })['x-api-key']).toBe('k');
    expect(forwardHeaders(inbound, { ...base, keepAuthorization: false }).authorization).toBeUndefined();
  });

  it('sets the identity after scrubbing, so a client copy never survives', () => {
    const out = forwardHeaders(
      { 'x-mailgate-app': 'evil' },
      { ...base, identity: { 'x-mailgate-app': 'billing' } },
    );
    expect(out['x-mailgate-app']).toBe('billing');
  });
});

describe('responseHeaders', () => {
  it('drops hop-by-hop headers from the upstream answer and keeps the rest', () => {
    expect(
      responseHeaders({
        connection: 'close, x-hop',
        'x-hop': '1',
        'keep-alive': 'timeout=5',
        'set-cookie': ['a=1', 'b=2'],
        'content-type': 'text/plain',
      }),
    ).toEqual({ 'set-cookie': ['a=1', 'b=2'], 'content-type': 'text/plain' });
  });

  it('reads the names in Connection in any case, from one header or several', () => {
    const answer = { 'x-hop': '1', 'x-other': '2', 'content-type': 'text/plain' };
    expect(responseHeaders({ ...answer, connection: 'Keep-Alive, X-Hop' })).toEqual({
      'x-other': '2',
      'content-type': 'text/plain',
    });
    expect(responseHeaders({ ...answer, connection: ['keep-alive', 'x-hop , X-Other'] })).toEqual({
      'content-type': 'text/plain',
    });
    expect(responseHeaders({ ...answer, connection: 'Close' })).toEqual(answer);
  });
});
