import { describe, expect, it } from 'vitest';
import { helpText, parseCommandLine } from '../../../cli/parse.js';
import { tempDir } from '../../helpers/temp-store.js';

const CWD = '/srv/mailgate';
const parse = (argv: string[], env: NodeJS.ProcessEnv = {}) => parseCommandLine(argv, env, CWD);

describe('parseCommandLine', () => {
  it('picks the command with the longest matching words and parses its flags', () => {
    const parsed = parse(['ca', 'issue', 'client', '--name', 'alice', '--role', 'viewer', '--json']);
    expect(parsed.command?.path).toEqual(['ca', 'issue', 'client']);
    expect(parsed.flags).toMatchObject({ name: 'alice', role: 'viewer', json: true });
    expect(parsed).toMatchObject({ json: true, help: false, positionals: [], dataDir: undefined });
  });

  it('takes positionals within the command bounds', () => {
    expect(parse(['ca', 'revoke', 'alice', '--reason', 'superseded'])).toMatchObject({
      positionals: ['alice'],
      flags: { reason: 'superseded' },
    });
  });

  it('resolves --data-dir and --config against cwd; the flag wins over MAILGATE_*', () => {
    const env = { MAILGATE_DATA_DIR: 'from-env', MAILGATE_CONFIG: '/etc/mailgate.yaml' };
    expect(parse(['ca', 'list'], env)).toMatchObject({
      dataDir: `${CWD}/from-env`,
      configPath: '/etc/mailgate.yaml',
    });
    expect(parse(['ca', 'list', '--data-dir', 'd', '--config', 'c.yaml'], env)).toMatchObject({
      dataDir: `${CWD}/d`,
      configPath: `${CWD}/c.yaml`,
    });
    // An empty variable counts as unset.
    expect(parse(['ca', 'list'], { MAILGATE_DATA_DIR: '' }).dataDir).toBeUndefined();
  });

  it('finds ./mailgate.yaml only when it exists', () => {
    const dir = tempDir();
    expect(parseCommandLine(['ca', 'list'], {}, dir).configPath).toBeUndefined();
  });

  it.each([
    [[], undefined],
    [['--help'], undefined],
    [['-h'], undefined],
    [['ca'], 'ca'],
    [['ca', 'issue'], 'ca issue'],
  ])('%j is help for %s', (argv, group) => {
    const parsed = parse(argv);
    expect(parsed).toMatchObject({ command: undefined, help: true });
    expect(parsed.positionals).toEqual(group === undefined ? [] : [group]);
  });

  it('a command with --help is help for that command, without checking its arguments', () => {
    expect(parse(['ca', 'revoke', '--help'])).toMatchObject({ help: true, positionals: [] });
  });

  it.each([
    [['nope'], "unknown command 'nope' (see 'mailgate --help')"],
    [['--json'], "unknown command '--json'"],
    [['ca', 'list', '--colour'], "ca list: Unknown option '--colour'"],
    [['ca', 'issue', 'client', '--name'], "ca issue client: Option '--name <value>' argument missing"],
    [['ca', 'revoke'], 'ca revoke: missing argument (usage: mailgate ca revoke SERIAL|NAME'],
    [['ca', 'revoke', 'a', 'b'], "ca revoke: unexpected argument 'b'"],
    [['ca', 'list', 'extra'], "ca list: unexpected argument 'extra'"],
    [['ca', 'list', '--json=yes'], 'ca list: Option '],
  ])('%j is a usage error: %s', (argv, message) => {
    expect(() => parse(argv)).toThrow(
      expect.objectContaining({ code: 'ERR_USAGE', message: expect.stringContaining(message) }),
    );
  });
});

describe('helpText', () => {
  it('lists every command, or those of one group', () => {
    expect(helpText(undefined)).toContain('  serve ');
    const group = helpText(undefined, 'wg');
    expect(group).toContain('wg add');
    expect(group).not.toContain('ca list');
  });

  it("shows one command's usage and flags", () => {
    const text = helpText(parse(['token', 'issue', '--app', 'a', '--scope', 's']).command);
    expect(text).toMatch(/^Usage: mailgate token issue --app NAME/);
    expect(text).toContain('  --quota VALUE');
    expect(text).toContain('  --data-dir DIR');
  });
});
