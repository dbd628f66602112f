import { describe, expect, it } from 'vitest';
import { type CrossSiteRequest, decideCrossSite, requestOrigin } from '../../../admin/cross-site-policy.js';

const OWN = ['https://mail.example.com', 'https://mail.example.com:8443'];
const EVIL = 'https://evil.example';
const FORM = 'application/x-www-form-urlencoded';

/** Header sets as Chromium and Firefox send them. */
const browser = {
  crossSiteForm: {
    secFetchSite: 'cross-site',
    secFetchMode: 'navigate',
    secFetchDest: 'document',
    origin: EVIL,
  },
  crossSiteNoCors: {
    secFetchSite: 'cross-site',
    secFetchMode: 'no-cors',
    secFetchDest: 'empty',
    origin: EVIL,
  },
  crossSiteLink: { secFetchSite: 'cross-site', secFetchMode: 'navigate', secFetchDest: 'document' },
  crossSiteFrame: { secFetchSite: 'cross-site', secFetchMode: 'navigate', secFetchDest: 'iframe' },
  crossSiteImage: { secFetchSite: 'cross-site', secFetchMode: 'no-cors', secFetchDest: 'image' },
  crossSitePreflight: {
    secFetchSite: 'cross-site',
    secFetchMode: 'cors',
    secFetchDest: 'empty',
    origin: EVIL,
  },
  webmailFetch: {
    secFetchSite: 'same-site',
    secFetchMode: 'cors',
    secFetchDest: 'empty',
    origin: 'https://webmail.example.com',
  },
  sameOriginFetch: {
    secFetchSite: 'same-origin',
    secFetchMode: 'cors',
    secFetchDest: 'empty',
    origin: OWN[0],
  },
  sameOriginGet: { secFetchSite: 'same-origin', secFetchMode: 'cors', secFetchDest: 'empty' },
  sameOriginForm: {
    secFetchSite: 'same-origin',
    secFetchMode: 'navigate',
    secFetchDest: 'document',
    origin: OWN[0],
  },
  typedUrl: { secFetchSite: 'none', secFetchMode: 'navigate', secFetchDest: 'document' },
  cli: {},
} satisfies Record<string, Partial<CrossSiteRequest>>;

function request(method: string, headers: Partial<CrossSiteRequest>, contentType?: string): CrossSiteRequest {
  return {
    method,
    secFetchSite: undefined,
    secFetchMode: undefined,
    secFetchDest: undefined,
    origin: undefined,
    contentType,
    ...headers,
  };
}

describe('decideCrossSite', () => {
  it.each<[string, CrossSiteRequest, boolean, string]>([
    // Hostile first: what another site can make the admin's browser send.
    ['cross-site form POST (empty body)', request('POST', browser.crossSiteForm, FORM), false, 'cross_site'],
    ['cross-site form POST to the console', request('POST', browser.crossSiteForm, FORM), true, 'cross_site'],
    [
      'cross-site multipart form',
      request('POST', browser.crossSiteForm, 'multipart/form-data; boundary=x'),
      true,
      'cross_site',
    ],
    ['cross-site text/plain form', request('POST', browser.crossSiteForm, 'text/plain'), false, 'cross_site'],
    [
      'cross-site no-cors fetch POST',
      request('POST', browser.crossSiteNoCors, 'text/plain'),
      false,
      'cross_site',
    ],
    ['cross-site no-cors fetch GET', request('GET', browser.crossSiteNoCors), false, 'cross_site'],
    [
      'cross-site JSON even if a browser allowed it',
      request('POST', browser.crossSiteNoCors, 'application/json'),
      false,
      'cross_site',
    ],
    ['cross-site DELETE', request('DELETE', browser.crossSiteNoCors), false, 'cross_site'],
    ['cross-site CORS preflight', request('OPTIONS', browser.crossSitePreflight), false, 'cross_site'],
    [
      'cross-site navigating OPTIONS is no navigation',
      request('OPTIONS', browser.crossSiteLink),
      false,
      'cross_site',
    ],
    ['cross-site frame of a console page', request('GET', browser.crossSiteFrame), true, 'cross_site'],
    ['cross-site <img> of an API URL', request('GET', browser.crossSiteImage), false, 'cross_site'],
    [
      'cross-site form POST navigation on the console',
      request('POST', browser.crossSiteLink, FORM),
      true,
      'cross_site',
    ],
    [
      'webmail (same-site) fetch POST',
      request('POST', browser.webmailFetch, 'application/json'),
      false,
      'cross_site',
    ],
    ['webmail (same-site) fetch GET', request('GET', browser.webmailFetch), false, 'cross_site'],
    ['unknown Sec-Fetch-Site value', request('GET', { secFetchSite: 'bogus' }), false, 'cross_site'],
    [
      'repeated Sec-Fetch-Site, joined',
      request('POST', { secFetchSite: 'same-origin, cross-site' }, 'application/json'),
      false,
      'cross_site',
    ],
    [
      'old browser, foreign Origin',
      request('POST', { origin: EVIL }, 'application/json'),
      false,
      'foreign_origin',
    ],
    [
      'Origin: null (sandboxed frame)',
      request('POST', { origin: 'null' }, 'application/json'),
      false,
      'foreign_origin',
    ],
    [
      'Origin: null from a cross-site page (no-referrer)',
      request('POST', { ...browser.crossSiteForm, origin: 'null' }, FORM),
      true,
      'cross_site',
    ],
    [
      'Origin: null claiming same-site',
      request('POST', { ...browser.webmailFetch, origin: 'null' }, 'application/json'),
      false,
      'cross_site',
    ],
    [
      'look-alike origin',
      request('POST', { origin: 'https://mail.example.com.evil.example' }, 'application/json'),
      false,
      'foreign_origin',
    ],
    [
      'own host on another port',
      request('POST', { origin: 'https://mail.example.com:9443' }, 'application/json'),
      false,
      'foreign_origin',
    ],
    [
      'plain-HTTP origin of the own host',
      request('POST', { origin: 'http://mail.example.com' }, 'application/json'),
      false,
      'foreign_origin',
    ],
    [
      'same-origin claim with a foreign Origin',
      request('POST', { ...browser.sameOriginFetch, origin: EVIL }, 'application/json'),
      false,
      'foreign_origin',
    ],
    [
      'two Origin headers, joined',
      request('POST', { origin: `${OWN[0]}, ${EVIL}` }, 'application/json'),
      false,
      'foreign_origin',
    ],
    // The content type: JSON for every unsafe method, forms only same-origin on the console.
    ['same-origin DELETE without a body', request('DELETE', browser.sameOriginFetch), false, 'json_required'],
    [
      'same-origin form POST to the API',
      request('POST', browser.sameOriginForm, FORM),
      false,
      'json_required',
    ],
    [
      'same-origin text/plain to the console',
      request('POST', browser.sameOriginForm, 'text/plain'),
      true,
      'json_required',
    ],
    [
      'form type without Fetch Metadata, console',
      request('POST', { origin: OWN[0] }, FORM),
      true,
      'json_required',
    ],
    [
      'form type from a typed URL (none), console',
      request('POST', browser.typedUrl, FORM),
      true,
      'json_required',
    ],
    ['CLI POST without a content type', request('POST', browser.cli), false, 'json_required'],
    ['a JSON look-alike type', request('POST', browser.cli, 'application/jsonp'), false, 'json_required'],
    [
      'JSON named after text/plain',
      request('POST', browser.cli, 'text/plain; application/json'),
      false,
      'json_required',
    ],
    [
      'structured-syntax JSON',
      request('POST', browser.cli, 'application/merge-patch+json'),
      false,
      'json_required',
    ],
  ])('refuses %s', (_name, input, forms, reason) => {
    const decision = decideCrossSite(input, { ownOrigins: OWN, forms });
    expect(decision).toEqual({ allowed: false, status: reason === 'json_required' ? 415 : 403, reason });
  });

  it.each<[string, CrossSiteRequest, boolean]>([
    ['same-origin fetch POST with JSON', request('POST', browser.sameOriginFetch, 'application/json'), false],
    [
      'same-origin fetch with a charset',
      request('PUT', browser.sameOriginFetch, 'Application/JSON; charset=utf-8'),
      false,
    ],
    ['same-origin GET', request('GET', browser.sameOriginGet), false],
    ['same-origin form POST to the console', request('POST', browser.sameOriginForm, FORM), true],
    [
      'same-origin form POST from a no-referrer page (Origin: null)',
      request('POST', { ...browser.sameOriginForm, origin: 'null' }, FORM),
      true,
    ],
    [
      'same-origin multipart form to the console',
      request('POST', browser.sameOriginForm, 'multipart/form-data; boundary=b'),
      true,
    ],
    [
      'the admin listener origin',
      request('POST', { ...browser.sameOriginFetch, origin: OWN[1] }, 'application/json'),
      false,
    ],
    [
      'an origin in upper case',
      request('POST', { origin: 'HTTPS://MAIL.EXAMPLE.COM' }, 'application/json'),
      false,
    ],
    ['a typed URL or bookmark', request('GET', browser.typedUrl), true],
    ['a link from another site into the console', request('GET', browser.crossSiteLink), true],
    [
      'a link from the webmail into the console',
      request('GET', { ...browser.crossSiteLink, secFetchSite: 'same-site' }),
      true,
    ],
    ['CLI GET', request('GET', browser.cli), false],
    ['CLI POST with JSON', request('POST', browser.cli, 'application/json'), false],
    ['CLI HEAD', request('HEAD', browser.cli), false],
  ])('allows %s', (_name, input, forms) => {
    expect(decideCrossSite(input, { ownOrigins: OWN, forms })).toEqual({ allowed: true });
  });
});

describe('requestOrigin', () => {
  it.each([
    ['mail.example.com', 'https://mail.example.com'],
    ['Mail.Example.com:443', 'https://mail.example.com'],
    ['127.0.0.1:8443', 'https://127.0.0.1:8443'],
    ['[::1]:8443', 'https://[::1]:8443'],
    ['', undefined],
  ])('%s -> %s', (authority, origin) => {
    expect(requestOrigin(authority)).toBe(origin);
  });
});
