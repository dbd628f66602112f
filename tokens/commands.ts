/**
 * @module The `mailgate` commands of this capability, merged into the table in cli/commands.ts.
 */
import type { CommandSpec } from '../cli/command-spec.js';

export const TOKENS_COMMANDS: readonly CommandSpec[] = [];
