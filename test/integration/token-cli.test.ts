import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { decodeProtectedHeader } from 'jose';
import { describe, expect, it } from 'vitest';
import { parseCommandLine } from '../../cli/parse.js';
import { loadConfig } from '../../gateway/config/load.js';
import { openDatabase } from '../../store/database.js';
import { authorizeToken } from '../../tokens/authorize-token.js';
import { TokenState } from '../../tokens/token-state.js';
import { createTokenVerifier } from '../../tokens/verify-token.js';
import { CLI_MAIN, runCli } from '../helpers/cli.js';
import { cliContext } from '../helpers/cli-context.js';
import { tempDir } from '../helpers/temp-store.js';

const root = tempDir('mailgate-token-cli-');

let dirs = 0;
const freshDataDir = () => join(root, `data-${++dirs}`);

/** Runs one command line through the real parser and command table, in process. */
async function mailgate(argv: string[], dataDir: string) {
  const parsed = parseCommandLine(argv, {}, root);
  const ctx = cliContext({
    dataDir,
    json: parsed.json,
    config: () => loadConfig({ configPath: undefined, env: {}, dataDir }),
  });
  await parsed.command!.run(parsed.flags, parsed.positionals, ctx);
  return { out: ctx.stdout, err: ctx.stderr, json: () => JSON.parse(ctx.stdout.join('')) };
}

function gatewayView(dataDir: string) {
  const db = openDatabase(dataDir);
  const state = new TokenState(db);
  const config = loadConfig({ configPath: undefined, env: {}, dataDir });
  const verifier = createTokenVerifier({
    issuer: config.publicUrl,
    audience: config.tokens.audience,
    resolveKey: (kid) => state.resolveKey(kid),
  });
  return {
    authorize: (token: string) => authorizeToken(verifier, state, `Bearer ${token}`, ['send']),
    close: () => db.close(),
  };
}

const ISSUE = ['token', 'issue', '--app', 'shop', '--scope', 'send'];

describe('token issue: bad input is a usage error naming the flag, and nothing is written', () => {
  it.each<[string, string[], string]>([
    ['an unknown flag', [...ISSUE, '--colour', 'red'], "'--colour'"],
    ['a missing --app', ['token', 'issue', '--scope', 'send'], '--app'],
    ['a missing --scope', ['token', 'issue', '--app', 'shop'], '--scope'],
    ['a bad app name', ['token', 'issue', '--app', 'shop shop', '--scope', 'send'], '--app'],
    ['a too long app name', ['token', 'issue', '--app', 'a'.repeat(65), '--scope', 'send'], '--app'],
    ['a scope with spaces', ['token', 'issue', '--app', 'shop', '--scope', 'send welcome'], '--scope'],
    ['a scope with bad characters', ['token', 'issue', '--app', 'shop', '--scope', 'send/x'], '--scope'],
    ['an empty scope list', ['token', 'issue', '--app', 'shop', '--scope', ','], '--scope'],
    ['ttl 0', [...ISSUE, '--ttl', '0'], '--ttl'],
    ['ttl 0d', [...ISSUE, '--ttl', '0d'], '--ttl'],
    ['a bad ttl', [...ISSUE, '--ttl', 'forever'], '--ttl'],
    ['a ttl over ten years', [...ISSUE, '--ttl', '3651d'], '--ttl'],
    ['bad rate syntax', [...ISSUE, '--rate', '60 per minute'], '--rate'],
    ['rate 0', [...ISSUE, '--rate', '0/min'], '--rate'],
    ['a rate unit that does not exist', [...ISSUE, '--rate', '5/fortnight'], '--rate'],
    ['burst 0', [...ISSUE, '--burst', '0'], '--burst'],
    ['a fractional burst', [...ISSUE, '--burst', '2.5'], '--burst'],
    ['a quota not per day', [...ISSUE, '--quota', '1000/hour'], '--quota'],
    ['quota 0', [...ISSUE, '--quota', '0/day'], '--quota'],
    ['a bare quota number', [...ISSUE, '--quota', '1000'], '--quota'],
  ])('refuses %s', async (_what, argv, flag) => {
    const dataDir = freshDataDir();
    const error = await mailgate(argv, dataDir).then(
      () => undefined,
      (e: unknown) => e as Error & { code: string },
    );
    expect(error?.code).toBe('ERR_USAGE');
    expect(error?.message).toContain(flag);
    expect(error?.message).not.toContain('\n');
    expect(existsSync(dataDir)).toBe(false);
  });

  it.each([
    [[...ISSUE, '--quota', '1000000000/day'], '--quota must be COUNT/day with COUNT from 1 to 999999999'],
    [[...ISSUE, '--rate', '1000001/min'], '--rate must be COUNT/UNIT with COUNT from 1 to 1000000'],
    [[...ISSUE, '--burst', '1000001'], '--burst must be a whole number from 1 to 1000000'],
    [[...ISSUE, '--ttl', '3651d'], '--ttl must be a duration from 1s to 3650d'],
  ])('a value out of range names the bounds: %j', async (argv, message) => {
    await expect(mailgate(argv, freshDataDir())).rejects.toMatchObject({
      code: 'ERR_USAGE',
      message: expect.stringContaining(message),
    });
  });

  it('refuses an extra argument to token revoke and a missing one', async () => {
    await expect(mailgate(['token', 'revoke'], freshDataDir())).rejects.toMatchObject({ code: 'ERR_USAGE' });
    await expect(mailgate(['token', 'revoke', 'a', 'b'], freshDataDir())).rejects.toMatchObject({
      code: 'ERR_USAGE',
    });
  });
});

describe('token issue / list / revoke and keys rotate (in process)', () => {
  it('round-trips: issued tokens verify, list shows metadata only, revoke and rotate behave', async () => {
    const dataDir = freshDataDir();
    const issued = (
      await mailgate(
        [
          ...ISSUE,
          '--scope',
          'send,send:*',
          '--ttl',
          '30d',
          '--rate',
          '10/min',
          '--burst',
          '5',
          '--quota',
          '100/day',
          '--json',
        ],
        dataDir,
      )
    ).json();
    expect(Object.keys(issued)).toEqual(
      expect.arrayContaining(['id', 'app', 'scopes', 'expiresAt', 'token']),
    );
    expect(issued).toMatchObject({
      app: 'shop',
      scopes: ['send', 'send:*'],
      limits: { rate: '10/min', burst: 5, quotaPerDay: 100 },
    });
    expect(Date.parse(issued.expiresAt) - Date.now()).toBeGreaterThan(29 * 86_400_000);

    const listed = (await mailgate(['token', 'list', '--json'], dataDir)).json();
    expect(listed).toEqual([
      expect.objectContaining({
        id: issued.id,
        app: 'shop',
        status: 'active',
        kid: issued.kid,
        lastUsedAt: null,
      }),
    ]);
    expect(JSON.stringify(listed)).not.toContain(issued.token);

    const rotated = (await mailgate(['keys', 'rotate', '--json'], dataDir)).json();
    expect(rotated).toEqual({ kid: expect.any(String), previousKid: issued.kid });
    const second = (await mailgate([...ISSUE, '--json'], dataDir)).json();
    expect(decodeProtectedHeader(second.token).kid).toBe(rotated.kid);
    expect(second.limits).toEqual({ rate: '60/min', burst: 60, quotaPerDay: null });

    const gateway = gatewayView(dataDir);
    try {
      expect((await gateway.authorize(issued.token)).kid).toBe(issued.kid);
      expect((await gateway.authorize(second.token)).kid).toBe(rotated.kid);
    } finally {
      gateway.close();
    }

    const revoked = await mailgate(['token', 'revoke', issued.id], dataDir);
    expect(revoked.err.join('')).toContain(issued.id);
    await expect(mailgate(['token', 'revoke', issued.id], dataDir)).rejects.toMatchObject({
      code: 'ERR_CONFLICT',
    });
    await expect(mailgate(['token', 'revoke', 'tok_doesnotexist0000'], dataDir)).rejects.toMatchObject({
      code: 'ERR_NOT_FOUND',
    });
    const after = gatewayView(dataDir);
    try {
      await expect(after.authorize(issued.token)).rejects.toMatchObject({ code: 'ERR_TOKEN_REVOKED' });
      expect((await after.authorize(second.token)).app).toBe('shop');
    } finally {
      after.close();
    }
    const statuses = (await mailgate(['token', 'list', '--json'], dataDir))
      .json()
      .map((t: { status: string }) => t.status);
    expect(statuses).toEqual(['revoked', 'active']);
  });

  it('prints the bare token on stdout and the shown-once note on stderr without --json', async () => {
    const { out, err } = await mailgate(ISSUE, freshDataDir());
    expect(out).toHaveLength(1);
    expect(out[0]).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(err.join('\n')).toContain('shown once');
  });
});

describe.skipIf(!existsSync(CLI_MAIN))('the built CLI', () => {
  it('exits 2 with one stderr line naming the flag, and writes nothing', async () => {
    const dataDir = freshDataDir();
    for (const argv of [
      [...ISSUE, '--ttl', '0'],
      [...ISSUE, '--rate', 'fast'],
      ['token', 'issue', '--app', 'shop', '--scope', 'send welcome'],
      [...ISSUE, '--bogus'],
    ]) {
      const run = await runCli(argv, { dataDir, cwd: root });
      expect(run.code).toBe(2);
      expect(run.stdout).toBe('');
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
      expect(run.stderr).toMatch(/--(ttl|rate|scope|bogus)/);
    }
    expect(existsSync(dataDir)).toBe(false);
  });

  it('issues with --json, revokes, and exits 1 for an unknown id', async () => {
    const dataDir = freshDataDir();
    const issued = await runCli([...ISSUE, '--json'], { dataDir, cwd: root });
    expect(issued.code).toBe(0);
    const { id } = JSON.parse(issued.stdout);
    expect((await runCli(['token', 'revoke', id], { dataDir, cwd: root })).code).toBe(0);
    const again = await runCli(['token', 'revoke', id], { dataDir, cwd: root });
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already revoked/);
    const unknown = await runCli(['token', 'revoke', 'tok_x'], { dataDir, cwd: root });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr.trim().split('\n')).toHaveLength(1);
  });
});
