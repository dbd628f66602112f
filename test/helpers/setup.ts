/**
 * @module Runs before every test file (vitest setupFiles): file-level cleanup of the fixtures, after the
 * file's own afterAll hooks (hooks registered first run last).
 */
import { afterAll } from 'vitest';
import { runFileCleanups } from './cleanup.js';

afterAll(runFileCleanups);
