import { createPrivateKey, createPublicKey, type JsonWebKey, type KeyObject, randomBytes } from 'node:crypto';
import {
  base64url,
  CompactEncrypt,
  exportJWK,
  generateKeyPair,
  type JWK,
  type JWTHeaderParameters,
  type JWTPayload,
  SignJWT,
} from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../store/database.js';
import { issueToken } from '../../tokens/issue-token.js';
import { revokeToken } from '../../tokens/revoke-token.js';
import { type EchoUpstream, startEchoUpstream } from '../helpers/echo-upstream.js';
import { clockReaches, eventually } from '../helpers/eventually.js';
import { h2Request, rawGet, rawRequest, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { curlH2, type SendPlaneResponse } from '../helpers/send-plane.js';
import { tempDatabase } from '../helpers/temp-store.js';

const ISSUER = 'https://mail.example.test';
const AUDIENCE = 'mailgate';
const DAY_MS = 86_400_000;

let echo: EchoUpstream;
/** A server an attacker controls: jku/x5u point here, and it must never be fetched. */
let attacker: EchoUpstream;
let gw: TestGateway;
let db: Database;
/** A valid token for app `shop` with scope `send`, and its id. */
let valid: { id: string; token: string; kid: string };
/** The gateway's own active signing key (read from the store) to craft tokens that differ in one claim. */
let realKey: { kid: string; privateKey: KeyObject; publicJwk: JWK };
let attackerKey: { privateKey: SigningKey; publicJwk: JWK };

type SigningKey = Parameters<SignJWT['sign']>[0];

const issue = (app: string, scopes: string[]) =>
  issueToken(db, { app, scopes, ttlMs: DAY_MS, issuer: ISSUER, audience: AUDIENCE, actor: 'test' });

const bearer = (token: string, scheme = 'Bearer') => ({ authorization: `${scheme} ${token}` });

const send = (headers: Record<string, string> = {}, target = '/api/emails') =>
  rawGet(gw.port, target, headers);

beforeAll(async () => {
  echo = await startEchoUpstream();
  attacker = await startEchoUpstream();
  const store = tempDatabase('mailgate-send-plane-');
  db = store.db;
  valid = await issue('shop', ['send']);
  gw = await startTestGateway(
    {
      publicUrl: ISSUER,
      upstreams: { templates: { url: echo.url } },
      routes: [
        { path: '/api/emails', upstream: 'templates', auth: 'token', scopes: ['send'] },
        { path: '/api/welcome', upstream: 'templates', auth: 'token', scopes: ['send:welcome'] },
        { path: '/', upstream: 'templates', auth: 'public' },
      ],
    },
    store.dataDir,
  );
  const row = db.prepare('SELECT kid, private_jwk FROM signing_keys WHERE active = 1').get() as {
    kid: string;
    private_jwk: string;
  };
  const privateKey = createPrivateKey({ key: JSON.parse(row.private_jwk), format: 'jwk' });
  realKey = {
    kid: row.kid,
    privateKey,
    publicJwk: await exportJWK(createPublicKey(privateKey)),
  };
  const pair = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  attackerKey = { privateKey: pair.privateKey, publicJwk: await exportJWK(pair.publicKey) };
});

afterAll(async () => {
  await gw?.close();
  await echo?.close();
  await attacker?.close();
});

const nowS = () => Math.floor(Date.now() / 1000);

/** The claims of a valid token for `valid.id`; each attack case changes one thing. */
function claims(overrides: JWTPayload = {}): JWTPayload {
  const now = nowS();
  return {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: 'shop',
    jti: valid.id,
    scope: 'send',
    iat: now,
    nbf: now,
    exp: now + 3600,
    ...overrides,
  };
}

/**
 * Signs a token with the gateway's real key (unless another key is given), so that the one changed
 * header field or claim is the only reason to refuse it.
 */
async function craft({
  header = {},
  payload = claims(),
  key = realKey.privateKey,
  crit,
}: {
  header?: Partial<JWTHeaderParameters> & Record<string, unknown>;
  payload?: JWTPayload;
  key?: SigningKey;
  crit?: Record<string, boolean>;
}): Promise<string> {
  return new SignJWT(payload)
    .setProtectedHeader({ alg: 'EdDSA', typ: 'mailgate+jwt', kid: realKey.kid, ...header })
    .sign(key, crit ? { crit } : undefined);
}

/** An unsecured JWS (`alg` some spelling of none) with the given signature part. */
function unsecured(alg: string, signature = ''): string {
  const part = (value: object) => base64url.encode(JSON.stringify(value));
  return `${part({ alg, typ: 'mailgate+jwt', kid: realKey.kid })}.${part(claims())}.${signature}`;
}

/** Asserts a refusal per RFC 6750 that reached nothing upstream. */
function expectRefused(
  response: SendPlaneResponse,
  before: number,
  expected: { status: 401 | 403; error?: 'invalid_token' | 'insufficient_scope' },
) {
  expect(response.status).toBe(expected.status);
  const challenge = response.headers['www-authenticate'];
  expect(challenge).toMatch(/^Bearer realm="mailgate"/);
  if (expected.error) expect(challenge).toContain(`error="${expected.error}"`);
  else expect(challenge).toBe('Bearer realm="mailgate"');
  expect(response.headers['content-type']).toBe('application/json');
  const body = JSON.parse(response.body) as { error: { status: number; code: string } };
  expect(body.error).toMatchObject({
    status: expected.status,
    code: expected.status === 403 ? 'insufficient_scope' : 'unauthorized',
  });
  expect(response.headers['ratelimit-remaining']).toBeUndefined();
  expect(echo.received.length).toBe(before);
}

/**
 * Sends `token` and asserts the refusal: 401 invalid_token with `description` (pinning down WHY it was
 * refused, so a case cannot pass for the wrong reason), or 403 insufficient_scope when `description` is 403.
 */
async function expectTokenRefused(token: string, description: string | 403) {
  const before = echo.received.length;
  const response = await send(bearer(token));
  if (description === 403) {
    expectRefused(response, before, { status: 403, error: 'insufficient_scope' });
  } else {
    expectRefused(response, before, { status: 401, error: 'invalid_token' });
    expect(response.headers['www-authenticate']).toContain(`error_description="${description}"`);
  }
  return response;
}

describe('a valid token', () => {
  it('passes with a lower-case (or upper-case) scheme; the upstream sees the identity and no Authorization', async () => {
    for (const scheme of ['bearer', 'BEARER', 'Bearer']) {
      const response = await send({ ...bearer(valid.token, scheme), 'x-mailgate-app': 'spoofed' });
      expect(response.status, scheme).toBe(200);
      const seen = JSON.parse(response.body).headers as Record<string, string>;
      expect(seen['x-mailgate-app']).toBe('shop');
      expect(seen['x-mailgate-token-id']).toBe(valid.id);
      expect(seen['x-mailgate-scopes']).toBe('send');
      expect(seen.authorization).toBeUndefined();
      expect(Number(response.headers['ratelimit-limit'])).toBeGreaterThan(0);
    }
  });

  it('passes over h2', async () => {
    const response = await h2Request(gw.port, { ':path': '/api/emails', ...bearer(valid.token, 'bearer') });
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body).headers['x-mailgate-token-id']).toBe(valid.id);
    expect(Number(response.headers['ratelimit-remaining'])).toBeGreaterThan(0);
  });

  it('a crafted token with the right claims passes (so each case below fails for its one change)', async () => {
    expect((await send(bearer(await craft({})))).status).toBe(200);
  });

  it('send:* covers send:welcome but not send', async () => {
    const wildcard = await issue('newsletter', ['send:*']);
    await eventually(async () =>
      expect((await send(bearer(wildcard.token), '/api/welcome')).status).toBe(200),
    );
    await expectTokenRefused(wildcard.token, 403);
  });

  it('publishes only public keys at /.well-known/jwks.json', async () => {
    const response = await rawGet(gw.port, '/.well-known/jwks.json');
    expect(response.status).toBe(200);
    const { keys } = JSON.parse(response.body) as { keys: JWK[] };
    expect(keys).toEqual([
      { kty: 'OKP', crv: 'Ed25519', x: realKey.publicJwk.x, kid: realKey.kid, alg: 'EdDSA', use: 'sig' },
    ]);
  });
});

describe('the JWT attack suite: each refused with 401 invalid_token and nothing reaching the upstream', () => {
  it.each(['none', 'None', 'NONE', 'nOnE'])('alg %s without a signature', async (alg) => {
    await expectTokenRefused(unsecured(alg), 'not a compact JWS');
  });

  it.each(['none', 'None', 'NONE'])('alg %s with a signature part', async (alg) => {
    await expectTokenRefused(unsecured(alg, base64url.encode(randomBytes(64))), 'algorithm not allowed');
  });

  it('HS256 with the published public key bytes as the secret (x, the JWK text, the PEM)', async () => {
    const { keys } = JSON.parse((await rawGet(gw.port, '/.well-known/jwks.json')).body) as { keys: JWK[] };
    const published = keys[0]!;
    const pem = createPublicKey({ key: published as JsonWebKey, format: 'jwk' }).export({
      type: 'spki',
      format: 'pem',
    }) as string;
    const encoder = new TextEncoder();
    for (const secret of [
      base64url.decode(published.x!),
      encoder.encode(published.x!),
      encoder.encode(JSON.stringify(published)),
      encoder.encode(pem),
    ]) {
      await expectTokenRefused(
        await craft({ header: { alg: 'HS256' }, key: secret }),
        'algorithm not allowed',
      );
    }
  });

  it('RS256 and ES256 with an attacker key under the real kid', async () => {
    for (const alg of ['RS256', 'ES256']) {
      const { privateKey } = await generateKeyPair(alg);
      await expectTokenRefused(await craft({ header: { alg }, key: privateKey }), 'algorithm not allowed');
    }
  });

  it('a tampered payload (more scope, another app) with the original signature', async () => {
    const [header, payload, signature] = valid.token.split('.') as [string, string, string];
    const decoded = JSON.parse(new TextDecoder().decode(base64url.decode(payload)));
    for (const change of [{ scope: 'send admin' }, { sub: 'other' }, { exp: decoded.exp + 86_400 }]) {
      const forged = base64url.encode(JSON.stringify({ ...decoded, ...change }));
      await expectTokenRefused(`${header}.${forged}.${signature}`, 'signature invalid');
    }
  });

  it('a tampered signature', async () => {
    const [header, payload, signature] = valid.token.split('.') as [string, string, string];
    const flipped = signature.slice(0, 10) + (signature[10] === 'A' ? 'B' : 'A') + signature.slice(11);
    await expectTokenRefused(`${header}.${payload}.${flipped}`, 'signature invalid');
    await expectTokenRefused(
      `${header}.${payload}.${base64url.encode(randomBytes(64))}`,
      'signature invalid',
    );
  });

  it.each([
    ['an unknown kid', () => base64url.encode(randomBytes(16))],
    ['no kid', () => undefined],
    ['a path-like kid', () => '../../../../etc/passwd'],
    ['a path-like kid ending in the real kid', () => `../keys/${realKey.kid}`],
    ['the real kid with a traversal suffix', () => `${realKey.kid}/../${realKey.kid}`],
    ['the real kid with a NUL', () => `${realKey.kid}\u0000`],
    ['a prototype property name', () => '__proto__'],
  ])('%s, signed with the real key', async (_what, kid) => {
    // A header member set to undefined is left out of the JSON, so `no kid` is signed without one.
    await expectTokenRefused(await craft({ header: { kid: kid() } }), 'unknown signing key');
  });

  it('a non-string kid', async () => {
    await expectTokenRefused(
      await craft({ header: { kid: 42 as unknown as string } }),
      'unknown signing key',
    );
  });

  it.each(['jku', 'x5u'])('%s pointing at an attacker JWKS, signed by the attacker key', async (member) => {
    const url = `${attacker.url}/jwks.json`;
    for (const [kid, description] of [
      ['attacker', 'unknown signing key'],
      [realKey.kid, 'signature invalid'],
    ] as const) {
      await expectTokenRefused(
        await craft({ header: { [member]: url, kid }, key: attackerKey.privateKey }),
        description,
      );
    }
    expect(attacker.received).toEqual([]);
  });

  it('an embedded jwk of the attacker key, signed by it', async () => {
    for (const [kid, description] of [
      ['attacker', 'unknown signing key'],
      [realKey.kid, 'signature invalid'],
      [undefined, 'unknown signing key'],
    ] as const) {
      const header = { jwk: { ...attackerKey.publicJwk, kid: kid ?? 'embedded' }, kid };
      await expectTokenRefused(await craft({ header, key: attackerKey.privateKey }), description);
    }
    expect(attacker.received).toEqual([]);
  });

  it('an unknown crit extension (two names)', async () => {
    await expectTokenRefused(
      await craft({ header: { crit: ['exp-check'], 'exp-check': true }, crit: { 'exp-check': true } }),
      'unsupported token header',
    );
    await expectTokenRefused(
      await craft({
        header: { crit: ['x-mailgate-unknown'], 'x-mailgate-unknown': 1 },
        crit: { 'x-mailgate-unknown': true },
      }),
      'unsupported token header',
    );
  });

  it.each<[string, () => JWTPayload, string]>([
    ['expired (beyond the clock tolerance)', () => claims({ exp: nowS() - 120 }), 'token expired'],
    ['nbf in the future', () => claims({ nbf: nowS() + 3600 }), 'token not yet valid'],
    ['a wrong iss', () => claims({ iss: 'https://evil.example' }), 'iss invalid'],
    ['an iss that only starts like ours', () => claims({ iss: `${ISSUER}.evil.example` }), 'iss invalid'],
    ['a wrong aud', () => claims({ aud: 'templates' }), 'aud invalid'],
    ['no exp', () => claims({ exp: undefined }), 'exp missing'],
    ['no jti', () => claims({ jti: undefined }), 'jti missing'],
    ['a jti nobody issued', () => claims({ jti: 'tok_AAAAAAAAAAAAAAAA' }), 'token revoked'],
    ['another app than the one issued', () => claims({ sub: 'other-app' }), 'claims invalid'],
    [
      'a scope that is not a string',
      () => claims({ scope: ['send'] as unknown as string }),
      'claims invalid',
    ],
  ])('%s, signed with the real key', async (_what, payload, description) => {
    await expectTokenRefused(await craft({ payload: payload() }), description);
  });

  it.each([['JWT'], ['at+jwt'], [undefined]])('typ %s, signed with the real key', async (typ) => {
    await expectTokenRefused(await craft({ header: { typ } }), 'typ invalid');
  });

  it('a token signed by another mailgate instance (its own data dir and key)', async () => {
    const other = tempDatabase('mailgate-other-instance-').db;
    const foreign = await issueToken(other, {
      app: 'shop',
      scopes: ['send'],
      ttlMs: DAY_MS,
      issuer: ISSUER,
      audience: AUDIENCE,
      actor: 'test',
    });
    await expectTokenRefused(foreign.token, 'unknown signing key');
  });

  it('a revoked token, within a second, even after it was verified (cached) once', async () => {
    const doomed = await issue('doomed', ['send']);
    await eventually(async () => expect((await send(bearer(doomed.token))).status).toBe(200));
    revokeToken(db, doomed.id, 'test');
    const revokedAt = Date.now();
    await clockReaches(revokedAt + 1000);
    await expectTokenRefused(doomed.token, 'token revoked');
  });

  it('a missing scope: 403 insufficient_scope naming the scope the route needs', async () => {
    const reader = await issue('reader', ['read', 'send:*']);
    await eventually(async () => expect((await send(bearer(reader.token), '/api/welcome')).status).toBe(200));
    const response = await expectTokenRefused(reader.token, 403);
    expect(response.headers['www-authenticate']).toBe(
      'Bearer realm="mailgate", error="insufficient_scope", scope="send"',
    );
    const metrics = await gw.gateway.metrics.registry.metrics();
    expect(metrics).toContain('mailgate_token_requests_total{app="reader",outcome="forbidden"} 1');
  });

  it('two Authorization headers over HTTP/1.1 (both valid, or valid and garbage)', async () => {
    for (const second of [valid.token, 'garbage']) {
      const before = echo.received.length;
      const response = await rawRequest(
        gw.port,
        `GET /api/emails HTTP/1.1\r\nhost: localhost\r\nauthorization: Bearer ${valid.token}\r\n` +
          `authorization: Bearer ${second}\r\nconnection: close\r\n\r\n`,
      );
      expectRefused(response, before, { status: 401, error: 'invalid_token' });
      expect(response.headers['www-authenticate']).toContain('more than one Authorization header');
    }
  });

  it('two Authorization headers over h2', async () => {
    const before = echo.received.length;
    const response = await curlH2(gw.port, '/api/emails', [
      `authorization: Bearer ${valid.token}`,
      'authorization: Bearer garbage',
    ]);
    expectRefused(response, before, { status: 401, error: 'invalid_token' });
    expect(response.headers['www-authenticate']).toContain('more than one Authorization header');
  });

  it('the token in the query string only (or a form body): 401 without an error code', async () => {
    let before = echo.received.length;
    expectRefused(await send({}, `/api/emails?access_token=${valid.token}`), before, { status: 401 });
    before = echo.received.length;
    const body = `access_token=${valid.token}`;
    const response = await rawRequest(
      gw.port,
      'POST /api/emails HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/x-www-form-urlencoded\r\n' +
        `content-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`,
    );
    expectRefused(response, before, { status: 401 });
  });

  it('other schemes and empty credentials', async () => {
    const before = echo.received.length;
    expectRefused(await send({ authorization: `Basic ${valid.token}` }), before, { status: 401 });
    expectRefused(await send({ authorization: `Token ${valid.token}` }), before, { status: 401 });
    // The Bearer scheme with nothing after it is a malformed token, not an absent one.
    for (const value of [
      'Bearer',
      'Bearer ',
      'Bearer  ',
      `Bearer ${valid.token}.`,
      `Bearer .${valid.token}`,
    ]) {
      expectRefused(await send({ authorization: value }), before, { status: 401, error: 'invalid_token' });
    }
    expectRefused(await send({ authorization: `Bearer ${valid.token}, Bearer ${valid.token}` }), before, {
      status: 401,
      error: 'invalid_token',
    });
  });

  it('a 12 KB garbage token gets 401 quickly; a 64 KB one is refused; the gateway answers right after', async () => {
    const before = echo.received.length;
    // CPU time (this process runs the gateway and the clients): on a loaded machine the wall clock mostly
    // measures the wait for a core, which says nothing about the work a garbage token costs.
    const started = process.cpuUsage();
    const twelve = await send(bearer(randomBytes(9 * 1024).toString('base64url')));
    expectRefused(twelve, before, { status: 401, error: 'invalid_token' });
    expect(twelve.headers['www-authenticate']).toContain('error_description="token too large"');
    // Over Node's 16 KB header limit the HTTP layer refuses before any gateway code runs.
    const garbage = randomBytes(48 * 1024).toString('base64url');
    expect(garbage.length).toBe(64 * 1024);
    expect((await send(bearer(garbage))).status).toBe(431);
    await expect(h2Request(gw.port, { ':path': '/api/emails', ...bearer(garbage) })).rejects.toMatchObject({
      code: 'ERR_HTTP2_STREAM_ERROR',
    });
    const spent = process.cpuUsage(started);
    expect((spent.user + spent.system) / 1000).toBeLessThan(2000);
    expect(echo.received.length).toBe(before);
    expect((await send(bearer(valid.token))).status).toBe(200);
    expect((await h2Request(gw.port, { ':path': '/api/emails', ...bearer(valid.token) })).status).toBe(200);
  });

  it('a JWE (five parts)', async () => {
    const jwe = await new CompactEncrypt(new TextEncoder().encode(JSON.stringify(claims())))
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid: realKey.kid, typ: 'mailgate+jwt' })
      .encrypt(randomBytes(32));
    expect(jwe.split('.')).toHaveLength(5);
    await expectTokenRefused(jwe, 'not a compact JWS');
  });
});

describe('logging', () => {
  it('never writes a token to the log, not even one sent in the query string', async () => {
    // Requests of its own, in the header and in the query string: the file's tests may run in any order.
    expect((await send(bearer(valid.token), '/api/emails/logged-header')).status).toBe(200);
    expect((await send({}, `/api/emails/logged-query?access_token=${valid.token}`)).status).toBe(401);
    const text = JSON.stringify(await gw.logLines('/api/emails/logged-query'));
    expect(text).toContain('/api/emails');
    expect(text).not.toContain(valid.token.split('.')[2]);
  });
});
