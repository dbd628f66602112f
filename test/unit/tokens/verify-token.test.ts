import { createHmac, sign as cryptoSign, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { CompactEncrypt, type JWTHeaderParameters, type JWTPayload, SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { scopesCover } from '../../../tokens/scopes.js';
import type { TokenErrorCode } from '../../../tokens/token-error.js';
import { newKeyId, newTokenId, TOKEN_TYP } from '../../../tokens/token-format.js';
import { createTokenVerifier, type TokenVerifierOptions } from '../../../tokens/verify-token.js';

const ISSUER = 'https://mail.example.com';
const AUDIENCE = 'mailgate';
const NOW = Date.UTC(2026, 10, 28, 12, 0, 0);
const NOW_S = NOW / 1000;

const ours = generateKeyPairSync('ed25519');
const ourKid = newKeyId();
const attacker = generateKeyPairSync('ed25519');
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

function claims(overrides: JWTPayload = {}): JWTPayload {
  return {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: 'shop',
    jti: newTokenId(),
    scope: 'send:welcome send:reset',
    iat: NOW_S,
    nbf: NOW_S,
    exp: NOW_S + 3600,
    ...overrides,
  };
}

/** A token signed with `key` (ours by default), header and claims overridable. */
function sign(
  payload: JWTPayload = claims(),
  header: Partial<JWTHeaderParameters> = {},
  key: KeyObject | Uint8Array = ours.privateKey,
) {
  return new SignJWT(payload)
    .setProtectedHeader({ alg: 'EdDSA', typ: TOKEN_TYP, kid: ourKid, ...header })
    .sign(key);
}

/** A verifier on a frozen clock that counts key lookups. */
function verifier(overrides: Partial<TokenVerifierOptions> = {}) {
  const lookups: string[] = [];
  const v = createTokenVerifier({
    issuer: ISSUER,
    audience: AUDIENCE,
    clockToleranceSeconds: 30,
    now: () => NOW,
    resolveKey: (kid) => {
      lookups.push(kid);
      return kid === ourKid ? ours.publicKey : undefined;
    },
    ...overrides,
  });
  return Object.assign(v, { lookups });
}

async function refusal(promise: Promise<unknown>): Promise<{ code: TokenErrorCode; message: string }> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, 'expected the token to be refused').toBeDefined();
  return { code: (error as { code: TokenErrorCode }).code, message: (error as Error).message };
}

describe('createTokenVerifier: accepts', () => {
  it('a token we signed, with scheme case-insensitive', async () => {
    const token = await sign();
    for (const scheme of ['Bearer', 'bearer', 'BEARER']) {
      const verified = await verifier().verify(`${scheme} ${token}`);
      expect(verified).toMatchObject({ app: 'shop', scopes: ['send:welcome', 'send:reset'], kid: ourKid });
      expect(verified.exp).toBe(NOW_S + 3600);
    }
  });

  it('a single header passed as a one-element array', async () => {
    expect((await verifier().verify([`Bearer ${await sign()}`])).app).toBe('shop');
  });

  it('exp and nbf within the clock tolerance', async () => {
    const v = verifier();
    await expect(v.verify(`Bearer ${await sign(claims({ exp: NOW_S - 10 }))}`)).resolves.toBeDefined();
    await expect(v.verify(`Bearer ${await sign(claims({ nbf: NOW_S + 10 }))}`)).resolves.toBeDefined();
  });
});

describe('createTokenVerifier: the JWT attack suite (every case refused)', () => {
  let rsa: KeyObject;
  beforeAll(() => {
    rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  });

  it('refuses a missing header with ERR_TOKEN_MISSING', async () => {
    expect(await refusal(verifier().verify(undefined))).toEqual({
      code: 'ERR_TOKEN_MISSING',
      message: 'no Bearer credentials',
    });
    expect((await refusal(verifier().verify([]))).code).toBe('ERR_TOKEN_MISSING');
  });

  it.each(['Basic', 'Token', 'Bearer:'])('refuses the %s scheme as no Bearer credentials', async (scheme) => {
    expect((await refusal(verifier().verify(`${scheme} ${await sign()}`))).code).toBe('ERR_TOKEN_MISSING');
  });

  it('refuses two Authorization headers, even both valid', async () => {
    const token = await sign();
    const v = verifier();
    expect(await refusal(v.verify([`Bearer ${token}`, `Bearer ${token}`]))).toEqual({
      code: 'ERR_TOKEN_MALFORMED',
      message: 'more than one Authorization header',
    });
    expect(v.lookups).toEqual([]);
  });

  it.each(['none', 'None', 'NONE', 'nOnE'])(
    'refuses alg %s, with or without a signature part',
    async (alg) => {
      const unsigned = `${b64({ alg, typ: TOKEN_TYP, kid: ourKid })}.${b64(claims())}`;
      const v = verifier();
      expect((await refusal(v.verify(`Bearer ${unsigned}.`))).code).toBe('ERR_TOKEN_MALFORMED');
      expect(await refusal(v.verify(`Bearer ${unsigned}.AAAA`))).toEqual({
        code: 'ERR_TOKEN_INVALID',
        message: 'algorithm not allowed',
      });
      expect(v.lookups).toEqual([]);
    },
  );

  it('refuses HS256 signed with the published public key (raw x and the JWK JSON as secret)', async () => {
    const jwk = ours.publicKey.export({ format: 'jwk' });
    const secrets = [Buffer.from(jwk.x!, 'base64url'), Buffer.from(JSON.stringify({ ...jwk, kid: ourKid }))];
    for (const secret of secrets) {
      const token = await sign(claims(), { alg: 'HS256' }, new Uint8Array(secret));
      // Sanity: the token really carries an HMAC made with that secret.
      const [h, p, s] = token.split('.');
      expect(createHmac('sha256', secret).update(`${h}.${p}`).digest('base64url')).toBe(s);
      expect((await refusal(verifier().verify(`Bearer ${token}`))).message).toBe('algorithm not allowed');
    }
  });

  it('refuses RS256 with an attacker key', async () => {
    const token = await sign(claims(), { alg: 'RS256' }, rsa);
    expect(await refusal(verifier().verify(`Bearer ${token}`))).toEqual({
      code: 'ERR_TOKEN_INVALID',
      message: 'algorithm not allowed',
    });
  });

  it('refuses a tampered payload and a tampered signature', async () => {
    const [h, , s] = (await sign()).split('.');
    const forged = `${h}.${b64(claims({ scope: 'send:* admin' }))}.${s}`;
    expect((await refusal(verifier().verify(`Bearer ${forged}`))).message).toBe('signature invalid');
    const [h2, p2, s2] = (await sign()).split('.');
    const flipped = `${s2!.slice(0, 10)}${s2![10] === 'A' ? 'B' : 'A'}${s2!.slice(11)}`;
    expect((await refusal(verifier().verify(`Bearer ${h2}.${p2}.${flipped}`))).message).toBe(
      'signature invalid',
    );
  });

  it.each([
    ['an unknown kid', newKeyId()],
    ['a path-like kid', '../../etc/passwd'],
    ['a URL kid', 'https://attacker.example/key.json'],
  ])('refuses %s', async (_what, kid) => {
    const token = await sign(claims(), { kid }, attacker.privateKey);
    expect(await refusal(verifier().verify(`Bearer ${token}`))).toEqual({
      code: 'ERR_TOKEN_INVALID',
      message: 'unknown signing key',
    });
  });

  it('refuses a token without kid', async () => {
    const token = await new SignJWT(claims())
      .setProtectedHeader({ alg: 'EdDSA', typ: TOKEN_TYP })
      .sign(ours.privateKey);
    expect((await refusal(verifier().verify(`Bearer ${token}`))).message).toBe('unknown signing key');
  });

  it('never follows jku, x5u or an embedded jwk pointing at an attacker key', async () => {
    const attackerJwk = attacker.publicKey.export({ format: 'jwk' });
    const headers: Array<Partial<JWTHeaderParameters>> = [
      { jku: 'https://attacker.example/jwks.json' },
      { x5u: 'https://attacker.example/cert.pem' },
      { jwk: { ...attackerJwk } },
      { jwk: { ...attackerJwk }, kid: newKeyId() },
    ];
    for (const header of headers) {
      const token = await sign(claims(), header, attacker.privateKey);
      const { code, message } = await refusal(verifier().verify(`Bearer ${token}`));
      expect(code).toBe('ERR_TOKEN_INVALID');
      expect(['signature invalid', 'unknown signing key']).toContain(message);
    }
  });

  it('refuses an unknown crit header even when signed by us', async () => {
    // jose will not sign an unknown crit, so the token is put together by hand with our real key.
    const input = `${b64({ alg: 'EdDSA', typ: TOKEN_TYP, kid: ourKid, crit: ['x-mailgate-unknown'], 'x-mailgate-unknown': true })}.${b64(claims())}`;
    const token = `${input}.${cryptoSign(null, Buffer.from(input), ours.privateKey).toString('base64url')}`;
    expect(await refusal(verifier().verify(`Bearer ${token}`))).toEqual({
      code: 'ERR_TOKEN_INVALID',
      message: 'unsupported token header',
    });
  });

  it.each<[string, JWTPayload, string]>([
    ['expired', { exp: NOW_S - 31 }, 'token expired'],
    ['nbf in the future', { nbf: NOW_S + 31 }, 'token not yet valid'],
    ['a wrong iss', { iss: 'https://other.example.com' }, 'iss invalid'],
    ['a wrong aud', { aud: 'someone-else' }, 'aud invalid'],
    ['no jti', { jti: undefined }, 'jti missing'],
    ['no nbf', { nbf: undefined }, 'nbf missing'],
    ['no exp', { exp: undefined }, 'exp missing'],
    ['a jti of the wrong shape', { jti: '../x' }, 'claims invalid'],
    ['a scope that is not a string', { scope: ['send'] as never }, 'claims invalid'],
  ])('refuses %s', async (_what, overrides, message) => {
    const token = await sign(claims(overrides));
    expect(await refusal(verifier().verify(`Bearer ${token}`))).toEqual({
      code: 'ERR_TOKEN_INVALID',
      message,
    });
  });

  it.each([['JWT'], ['at+jwt'], [undefined]])('refuses typ %s', async (typ) => {
    const token = await sign(claims(), { typ });
    expect((await refusal(verifier().verify(`Bearer ${token}`))).message).toBe('typ invalid');
  });

  it('refuses a token of another mailgate instance (different key, our kid or its own)', async () => {
    for (const kid of [ourKid, newKeyId()]) {
      const token = await sign(claims(), { kid }, attacker.privateKey);
      expect((await refusal(verifier().verify(`Bearer ${token}`))).code).toBe('ERR_TOKEN_INVALID');
    }
  });

  it('leaves a missing scope to scopesCover, which says no', async () => {
    const verified = await verifier().verify(`Bearer ${await sign(claims({ scope: 'send:welcome' }))}`);
    expect(scopesCover(verified.scopes, ['send:invoice'])).toBe(false);
  });

  it('refuses a 64 KB garbage token quickly, before parsing or key lookup', async () => {
    const v = verifier();
    const garbage = `Bearer ${'A'.repeat(30_000)}.${'B'.repeat(30_000)}.${'C'.repeat(5_000)}`;
    const started = performance.now();
    for (let i = 0; i < 1_000; i++) {
      expect((await refusal(v.verify(garbage))).message).toBe('token too large');
    }
    expect(performance.now() - started).toBeLessThan(500);
    expect(v.lookups).toEqual([]);
  });

  it('refuses a JWE (five parts)', async () => {
    const jwe = await new CompactEncrypt(new TextEncoder().encode(JSON.stringify(claims())))
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid: ourKid })
      .encrypt(new Uint8Array(32));
    expect(jwe.split('.')).toHaveLength(5);
    expect(await refusal(verifier().verify(`Bearer ${jwe}`))).toEqual({
      code: 'ERR_TOKEN_MALFORMED',
      message: 'not a compact JWS',
    });
  });

  it.each([
    'Bearer',
    'Bearer ',
    'Bearer a.b',
    'Bearer a.b.c.d',
    'Bearer a b.c.d',
    'Bearer a.b.c,Bearer a.b.c',
  ])('refuses the malformed value %j', async (value) => {
    expect((await refusal(verifier().verify(value))).code).toBe('ERR_TOKEN_MALFORMED');
  });
});

describe('createTokenVerifier: cache', () => {
  it('a hit needs the exact token: anything else is shape-checked and verified as if nothing were cached', async () => {
    const v = verifier();
    const token = await sign();
    await v.verify(`Bearer ${token}`);
    for (const value of [`Bearer ${token}.x`, `Bearer ${token} x`, `Bearer ${token},Bearer ${token}`]) {
      expect(v.cached(value)).toBeUndefined();
      expect(await refusal(v.verify(value))).toEqual({
        code: 'ERR_TOKEN_MALFORMED',
        message: 'not a compact JWS',
      });
    }
    expect(v.cached(`Bearer ${token}x`)).toBeUndefined();
    expect((await refusal(v.verify(`Bearer ${token}x`))).code).toBe('ERR_TOKEN_INVALID');
    expect(v.cacheEntries).toBe(1);
  });

  it('serves a verified token from the cache without a second key lookup', async () => {
    const v = verifier();
    const header = `Bearer ${await sign()}`;
    const first = await v.verify(header);
    expect(await v.verify(header)).toEqual(first);
    expect(await v.verify(`bearer ${header.slice(7)}`)).toEqual(first);
    expect(v.lookups).toHaveLength(1);
    expect(v.cacheEntries).toBe(1);
  });

  it('never caches an invalid token', async () => {
    const v = verifier();
    const [h, p, s] = (await sign()).split('.');
    // Change the first signature character: the last one carries padding bits and may decode the same.
    const bad = `Bearer ${h}.${p}.${s![0] === 'A' ? 'B' : 'A'}${s!.slice(1)}`;
    await refusal(v.verify(bad));
    await refusal(v.verify(bad));
    expect(v.lookups).toHaveLength(2);
    expect(v.cacheEntries).toBe(0);
  });

  it('stays bounded, evicting the oldest', async () => {
    const v = verifier({ cacheSize: 2 });
    const [a, b, c] = await Promise.all([sign(), sign(), sign()]);
    await v.verify(`Bearer ${a}`);
    await v.verify(`Bearer ${b}`);
    await v.verify(`Bearer ${a}`); // a hit does not reorder the cache
    await v.verify(`Bearer ${c}`); // evicts a, the oldest
    expect(v.cacheEntries).toBe(2);
    expect(v.lookups).toHaveLength(3);
    await v.verify(`Bearer ${b}`);
    expect(v.lookups).toHaveLength(3);
    await v.verify(`Bearer ${a}`);
    expect(v.lookups).toHaveLength(4);
  });

  it('cached() answers synchronously for a value verified before, and never for a refused one', async () => {
    const v = verifier();
    const token = await sign();
    expect(v.cached(`Bearer ${token}`)).toBeUndefined();
    const verified = await v.verify(`Bearer ${token}`);
    expect(v.cached(`bearer ${token}`)).toEqual(verified);
    expect(v.cached([`Bearer ${token}`])).toEqual(verified);
    expect(v.cached([`Bearer ${token}`, `Bearer ${token}`])).toBeUndefined();
    expect(v.cached(`Basic ${token}`)).toBeUndefined();
    expect(v.cached(undefined)).toBeUndefined();
    expect(v.lookups).toHaveLength(1);
  });

  it('drops a cached token once it expires (frozen clock moved past exp + tolerance)', async () => {
    let clock = NOW;
    const v = verifier({ now: () => clock });
    const header = `Bearer ${await sign(claims({ exp: NOW_S + 60 }))}`;
    await v.verify(header);
    clock = NOW + 60_000 + 30_000;
    expect((await refusal(v.verify(header))).message).toBe('token expired');
    expect(v.cacheEntries).toBe(0);
  });

  it('clear() empties the cache', async () => {
    const v = verifier();
    await v.verify(`Bearer ${await sign()}`);
    v.clear();
    expect(v.cacheEntries).toBe(0);
  });

  it('refuses bad options when built', () => {
    expect(() => verifier({ issuer: '' })).toThrow(TypeError);
    expect(() => verifier({ cacheSize: -1 })).toThrow(TypeError);
  });
});
