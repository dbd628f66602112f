import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../cli/commands.js';
import { runCli } from '../helpers/cli.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));

describe('mailgate --help', () => {
  it('runs through the package bin (npx) and lists every command', () => {
    // npm's update check would reach for the registry; this machine (and CI) may have no route to it.
    const env = { ...process.env, npm_config_update_notifier: 'false' };
    const result = spawnSync('npx', ['--no-install', 'mailgate', '--help'], {
      cwd: repo,
      encoding: 'utf8',
      env,
    });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^Usage: mailgate <command> \[options\]/);
    for (const spec of COMMANDS) expect(result.stdout).toContain(`  ${spec.path.join(' ')} `);
  }, 120_000); // npx starts npm itself, which took 50 s on a machine busy with other test files

  it("shows a command's usage and flags", async () => {
    const result = await runCli(['ca', 'issue', 'client', '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Usage: mailgate ca issue client --name NAME/);
    expect(result.stdout).toContain('  --p12-algorithm VALUE');
    expect(result.stdout).toContain('  --data-dir DIR');
  });

  it('lists a group', async () => {
    const result = await runCli(['wg', '--help']);
    expect(result.code).toBe(0);
    const listed = result.stdout.split('\n').filter((line) => line.startsWith('  '));
    expect(listed.length).toBe(COMMANDS.filter((spec) => spec.path[0] === 'wg').length);
  });

  it('an unknown command is a usage error in one line (exit 2)', async () => {
    const result = await runCli(['frobnicate']);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe("mailgate: unknown command 'frobnicate' (see 'mailgate --help')\n");
  });
});
