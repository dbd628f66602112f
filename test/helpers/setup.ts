/**
 * @module Runs before every test file (vitest setupFiles): a fixed umask, and file-level cleanup of the
 * fixtures after the file's own afterAll hooks (hooks registered first run last).
 */
import { afterAll } from 'vitest';
import { runFileCleanups } from './cleanup.js';

// Files are created with Debian's default umask whatever the runner's (a CI login with umask 077 made every
// certificate 0600 where ca-cli expects 0644); the CLI and `serve` processes the tests spawn inherit it.
process.umask(0o022);

afterAll(runFileCleanups);
