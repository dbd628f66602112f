/**
 * @module node-forge, loaded on first use: the gateway's start and request paths never sign anything,
 * and forge costs ~11 MB of resident memory once loaded.
 */
import { createRequire } from 'node:module';
import type Forge from 'node-forge';

let forge: typeof Forge | undefined;

/** The node-forge module (CommonJS, so it can be required synchronously when first needed). */
export function loadForge(): typeof Forge {
  forge ??= createRequire(import.meta.url)('node-forge') as typeof Forge;
  return forge;
}
