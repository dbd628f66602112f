import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const MONITORING = fileURLToPath(new URL('../../monitoring/', import.meta.url));

/** Runs promtool (Debian package `prometheus`) in monitoring/; fails loudly when it is missing. */
function promtool(...args: string[]) {
  const result = spawnSync('promtool', args, { cwd: MONITORING, encoding: 'utf8', timeout: 60_000 });
  if (result.error) {
    throw new Error(`promtool not runnable (apt-get install -y prometheus): ${result.error.message}`);
  }
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('monitoring/alerts.yaml', () => {
  it('passes promtool check rules', () => {
    const { status, output } = promtool('check', 'rules', 'alerts.yaml');
    expect(output).toContain('SUCCESS');
    expect(status).toBe(0);
  });

  it('fires on unusual volume, auth bursts, rate limiting and quota, and stays quiet otherwise', () => {
    const { status, output } = promtool('test', 'rules', 'alerts.test.yaml');
    expect(output).toContain('SUCCESS');
    expect(status).toBe(0);
  });
});
