/**
 * @module Debian's Apache httpd with mod_dav/mod_dav_fs as a real WebDAV upstream: an unprivileged
 * instance with its own ServerRoot, PidFile, ErrorLog and lock database in a temp dir, on a free port.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { closedOnCleanup } from './cleanup.js';
import { spawnOnFreePort } from './ports.js';
import { tempDir } from './temp-store.js';

const MODULES = '/usr/lib/apache2/modules';

export interface ApacheDav {
  url: string;
  port: number;
  /** The served directory (Dav On): what the WebDAV methods actually changed. */
  docRoot: string;
  errorLog: () => string;
  close: () => Promise<void>;
}

/**
 * Starts `apache2 -DFOREGROUND` serving `docRoot` with `Dav On`; `extra` is appended to the config.
 * @example const dav = await startApacheDav(); ... await dav.close();
 */
export async function startApacheDav(extra = ''): Promise<ApacheDav> {
  // Removed after close, or after a failed start (registered first, so it runs last).
  const root = tempDir('mailgate-apache-');
  const docRoot = join(root, 'htdocs');
  mkdirSync(docRoot);
  const conf = join(root, 'httpd.conf');
  let stderr = '';
  const started = await spawnOnFreePort((port) => {
    writeFileSync(
      conf,
      `ServerRoot ${root}
LoadModule mpm_event_module ${MODULES}/mod_mpm_event.so
LoadModule authz_core_module ${MODULES}/mod_authz_core.so
LoadModule dav_module ${MODULES}/mod_dav.so
LoadModule dav_fs_module ${MODULES}/mod_dav_fs.so
PidFile ${root}/httpd.pid
ErrorLog ${root}/error.log
LogLevel warn
Listen 127.0.0.1:${port}
ServerName localhost
DAVLockDB ${root}/lockdb
DocumentRoot ${docRoot}
<Directory ${docRoot}>
  Dav On
  Require all granted
</Directory>
${extra}
`,
    );
    const child = spawn('/usr/sbin/apache2', ['-f', conf, '-DFOREGROUND'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    return child;
  }).catch((error: unknown) => {
    throw new Error(`apache2 did not start: ${stderr}`, { cause: error });
  });
  const { child, port } = started;
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    docRoot,
    errorLog: () => readFileSync(join(root, 'error.log'), 'utf8'),
    close: closedOnCleanup(async () => {
      // SIGTERM to the parent stops its workers too.
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    }),
  };
}
