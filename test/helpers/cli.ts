/**
 * @module Spawns the built CLI (`node dist/cli/main.js`) with a data dir and captures its output.
 * Build first: `npx tsc -p tsconfig.build.json`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { type ProcessRun, runProcess } from './run-process.js';
import { tempDir } from './temp-store.js';

/** Absolute path of the compiled entry point. */
export const CLI_MAIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

export type CliRun = ProcessRun;

export interface RunCliOptions {
  /** Passed as --data-dir (omitted when undefined). */
  dataDir?: string;
  /** Working directory (default: the current one). */
  cwd?: string;
  /** Extra environment; MAILGATE_* of the test process are removed so tests stay hermetic. */
  env?: NodeJS.ProcessEnv;
  /** Written to stdin, then stdin is closed. */
  input?: string;
  /** Killed (code null) after this long; default 45 s, as a CA's RSA key can take seconds on a loaded machine. */
  timeoutMs?: number;
}

/**
 * Runs `mailgate ARGS... [--data-dir DIR]` and resolves when it exits (never rejects on a non-zero code).
 * @example const { code, stdout } = await runCli(['ca', 'list', '--json'], { dataDir });
 */
export function runCli(args: readonly string[], options: RunCliOptions = {}): Promise<CliRun> {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('MAILGATE_')) env[key] = value;
  const argv = [CLI_MAIN, ...args, ...(options.dataDir === undefined ? [] : ['--data-dir', options.dataDir])];
  return runProcess(process.execPath, argv, {
    cwd: options.cwd,
    env: { ...env, ...options.env },
    input: options.input,
    timeoutMs: options.timeoutMs ?? 45_000,
  });
}

/**
 * Issues client certificate `name` with `ca issue client` through `cli` (which adds the config or data
 * dir) into a fresh folder, and returns its PEMs for a TLS client.
 * @example const { cert, key } = await issueCliCertificate(cli, 'laptop')
 */
export async function issueCliCertificate(
  cli: (...args: string[]) => Promise<CliRun>,
  name: string,
): Promise<{ cert: string; key: string }> {
  const out = tempDir('mailgate-cert-');
  const issued = await cli('ca', 'issue', 'client', '--name', name, '--out', out);
  expect(issued.code, issued.stderr).toBe(0);
  return {
    cert: readFileSync(join(out, `${name}.crt.pem`), 'utf8'),
    key: readFileSync(join(out, `${name}.key.pem`), 'utf8'),
  };
}
