// Preloaded (NODE_OPTIONS=--import) into a gateway process by the lazy-loading tests: records every module
// the process loads (ESM through a loader hook, CommonJS through require.cache) and writes their URLs,
// one a line, to $MAILGATE_TEST_MODULE_LIST_DIR/<pid>.txt on SIGUSR2. Workers inherit it with the env.
import { renameSync, writeFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { MessageChannel } from 'node:worker_threads';

const loaded = new Set();
const { port1, port2 } = new MessageChannel();
port1.on('message', (url) => loaded.add(url));
port1.unref();
register(new URL('./module-list-hooks.mjs', import.meta.url), {
  data: { port: port2 },
  transferList: [port2],
});
const require = createRequire(import.meta.url);
process.on('SIGUSR2', () => {
  for (const path of Object.keys(require.cache)) loaded.add(pathToFileURL(path).href);
  const dir = process.env.MAILGATE_TEST_MODULE_LIST_DIR;
  // Written aside and renamed: the reader polls for the file and must never see it half-written.
  const file = join(dir, `${process.pid}.txt`);
  writeFileSync(`${file}.part`, `${[...loaded].join('\n')}\n`);
  renameSync(`${file}.part`, file);
});
