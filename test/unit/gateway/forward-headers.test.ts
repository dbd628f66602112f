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
  // As undici hands them over: one flat list, every name and value a Buffer.
  const raw = (...fields: [string, string][]) => fields.flat().map((field) => Buffer.from(field, 'latin1'));

  it('drops hop-by-hop headers from the upstream answer and keeps the rest', () => {
    const fields = raw(
      ['Connection', 'close, x-hop'],
      ['X-Hop', '1'],
      ['Keep-Alive', 'timeout=5'],
      ['Set-Cookie', 'a=1'],
      ['Set-Cookie', 'b=2'],
      ['Content-Type', 'text/plain'],
    );
    expect(responseHeaders(fields)).toEqual({ 'set-cookie': ['a=1', 'b=2'], 'content-type': 'text/plain' });
  });

  it('reads the names in Connection in any case, from one header or several', () => {
    const answer: [string, string][] = [
      ['x-hop', '1'],
      ['x-other', '2'],
      ['content-type', 'text/plain'],
    ];
    expect(responseHeaders(raw(...answer, ['Connection', 'Keep-Alive, X-Hop']))).toEqual({
      'x-other': '2',
      'content-type': 'text/plain',
    });
    const twoFields = raw(['connection', 'keep-alive'], ...answer, ['Connection', 'x-hop , X-Other']);
    expect(responseHeaders(twoFields)).toEqual({ 'content-type': 'text/plain' });
    expect(responseHeaders(raw(...answer, ['Connection', 'Close']))).toEqual(Object.fromEntries(answer));
  });

  it('reads names as Buffers (undici) or strings (node:http) alike, and joins repeats in order', () => {
    const fields: [string, string][] = [
      ['Content-Type', 'text/plain'],
      ['X-Repeat', 'a'],
      ['WWW-Authenticate', 'Basic'],
      ['x-repeat', 'b'],
    ];
    const expected = { 'content-type': 'text/plain', 'x-repeat': ['a', 'b'], 'www-authenticate': 'Basic' };
    expect(responseHeaders(raw(...fields))).toEqual(expected);
    expect(responseHeaders(fields.flat())).toEqual(expected);
  });

  it('never lets a header named __proto__ reach the object, nor lose the others', () => {
    const out = responseHeaders(raw(['__proto__', 'x'], ['__Proto__', 'y'], ['Content-Type', 'text/plain']));
    expect(out).toEqual({ 'content-type': 'text/plain' });
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
  });

  it('takes a header named like what a plain object inherits (constructor, toString) as a header of its own', () => {
    const out = responseHeaders(
      raw(['Constructor', 'a'], ['toString', 'b'], ['hasOwnProperty', 'c'], ['constructor', 'd']),
    );
    expect(out).toEqual({ constructor: ['a', 'd'], tostring: 'b', hasownproperty: 'c' });
  });

  it('keeps header bytes as latin1 and ignores a dangling name without a value', () => {
    const out = responseHeaders([
      Buffer.from('X-Latin'),
      Buffer.from('caf\xe9', 'latin1'),
      Buffer.from('X-Dangling'),
    ]);
    expect(out).toEqual({ 'x-latin': 'caf\u00e9' });
  });
});
