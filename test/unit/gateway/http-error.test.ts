import { describe, expect, it } from 'vitest';
import { errorResponse, prefersHtml, renderError } from '../../../gateway/http-error.js';

describe('prefersHtml', () => {
  it.each([
    ['text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', true],
    ['TEXT/HTML', true],
    ['text/html;q=0.5, application/json;q=0.4', true],
    [undefined, false],
    ['*/*', false],
    ['application/json', false],
    ['text/html;q=0', false],
    ['text/html; q=0.0, */*', false],
    ['application/json, text/html;q=0.9', false],
    ['text/html;q=abc', false],
  ])('%s -> %s', (accept, expected) => {
    expect(prefersHtml(accept)).toBe(expected);
  });
});

describe('renderError', () => {
  it('answers JSON with the status, code and request id, and HTML to a browser', () => {
    const json = renderError('not_found', 'req-1', 'application/json');
    expect(json.status).toBe(404);
    expect(json.headers['content-type']).toBe('application/json');
    expect(JSON.parse(json.body)).toEqual({
      error: { status: 404, code: 'not_found', message: 'Not found', requestId: 'req-1' },
    });
    const html = renderError('forbidden', 'req-2', 'text/html', { 'www-authenticate': 'x' });
    expect(html.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(html.headers['www-authenticate']).toBe('x');
    expect(html.body).toContain('403 Forbidden');
  });
});

describe('errorResponse', () => {
  it('is renderError as a fetch Response, with nosniff and no-store', async () => {
    const response = errorResponse('unsupported_media_type', 'req-3', 'application/json');
    expect(response.status).toBe(415);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('cache-control')).toBe('no-store');
    const body = await response.text();
    expect(response.headers.get('content-length')).toBe(String(Buffer.byteLength(body)));
    expect(JSON.parse(body).error).toMatchObject({
      status: 415,
      code: 'unsupported_media_type',
      requestId: 'req-3',
    });
  });
});
