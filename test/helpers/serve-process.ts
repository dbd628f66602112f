/**
 * @module Runs `mailgate serve` as a real process (the built CLI) and waits until it listens.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { closedOnCleanup } from './cleanup.js';
import { CLI_MAIN } from './cli.js';
import { type EchoUpstream, startEchoUpstream } from './echo-upstream.js';
import { eventually } from './eventually.js';
import { tempDir } from './temp-store.js';

/** How long `serve` may take to print its address. */
const START_DEADLINE_MS = 45_000;

export interface ServeProcess {
  child: ChildProcess;
  port: number;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  /** SIGTERM, then wait for the exit. */
  stop: () => Promise<number | null>;
}

/**
 * Spawns `node dist/cli/main.js serve ARGS` with MAILGATE_HTTPS_PORT=0 unless given, and resolves once
 * it printed its address.
 */
export function startServe(
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv },
): Promise<ServeProcess> {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('MAILGATE_')) env[key] = value;
  const child = spawn(process.execPath, [CLI_MAIN, 'serve', ...args], {
    cwd: options.cwd,
    env: { ...env, MAILGATE_HTTPS_PORT: '0', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    // A first start generates the CA's 3072-bit RSA key, seconds of CPU that a loaded machine stretches: the
    // deadline only has to catch a serve that never starts, before the hook timeout (60 s) does.
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`serve did not start within ${START_DEADLINE_MS} ms: ${err}`));
    }, START_DEADLINE_MS);
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      err += chunk;
      const match = /serving https:\/\/[^\s]*:(\d+)\//.exec(err);
      if (match) {
        clearTimeout(timer);
        resolve({
          child,
          port: Number(match[1]),
          stdout: () => out,
          stderr: () => err,
          exited,
          stop: closedOnCleanup(() => {
            child.kill('SIGTERM');
            return exited;
          }),
        });
      }
    });
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code}: ${err}`));
    });
  });
}

/**
 * Every listener's address, from the 'mailgate listening' log line (with workers, printed once all of
 * them listen).
 * @example const { admin } = await listenerAddresses(serve)
 */
export function listenerAddresses(serve: ServeProcess): Promise<Record<string, { port: number }>> {
  return eventually(async () => {
    const line = serve
      .stdout()
      .split('\n')
      .find((l) => l.includes('"msg":"mailgate listening"'));
    if (!line) throw new Error('no listening line yet');
    return (JSON.parse(line) as { addresses: Record<string, { port: number }> }).addresses;
  });
}

export interface EchoServe {
  serve: ServeProcess;
  echo: EchoUpstream;
  /** The folder holding mailgate.yaml and the data dir. */
  root: string;
}

/**
 * `mailgate serve` (the built CLI) in front of a fresh echo upstream on one public route, with these
 * `limits` and a 1 s drain; all of it stops and is removed by its own cleanup.
 * @example const { serve, echo } = await startEchoServe({ clientRequestsPerMinute: 0 })
 */
export async function startEchoServe(limits: Record<string, number>): Promise<EchoServe> {
  const root = tempDir('mailgate-serve-');
  const echo = await startEchoUpstream();
  const limitsYaml = Object.entries(limits)
    .map(([key, value]) => `${key}: ${value}`)
    .join(', ');
  writeFileSync(
    join(root, 'mailgate.yaml'),
    `publicUrl: https://localhost\nlisten:\n  https: { host: 127.0.0.1, port: 0 }\ndrainTimeoutMs: 1000\n` +
      `limits: { ${limitsYaml} }\n` +
      `upstreams:\n  app: { url: '${echo.url}' }\nroutes:\n  - { path: /, upstream: app, auth: public }\n`,
  );
  return { serve: await startServe([], { cwd: root }), echo, root };
}
