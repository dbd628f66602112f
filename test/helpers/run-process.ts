/**
 * @module Runs a program to its end without blocking this process (the gateway under test may run in it)
 * and captures what it wrote: stdout and stderr apart, and both in the order they came.
 */
import { spawn } from 'node:child_process';

export interface ProcessRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout and stderr interleaved as they arrived. */
  output: string;
}

export interface RunProcessOptions {
  cwd?: string | undefined;
  /** The whole environment (default: this process's). */
  env?: NodeJS.ProcessEnv | undefined;
  /** Written to stdin, then stdin is closed. */
  input?: string | undefined;
  /** Killed after this long (default: never). */
  timeoutMs?: number | undefined;
}

/**
 * Resolves when `command` exits, whatever its code; rejects only when it cannot be started.
 * @example const { code, output } = await runProcess('litmus', ['--keep-going', url]);
 */
export function runProcess(
  command: string,
  args: readonly string[],
  options: RunProcessOptions = {},
): Promise<ProcessRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: options.timeoutMs,
    });
    const run: ProcessRun = { code: null, stdout: '', stderr: '', output: '' };
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      run.stdout += chunk;
      run.output += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      run.stderr += chunk;
      run.output += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ ...run, code }));
    child.stdin.end(options.input ?? '');
  });
}
