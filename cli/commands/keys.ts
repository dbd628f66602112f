/**
 * @module `mailgate keys rotate`: a new active token signing key; older keys keep verifying.
 */
import { withDatabase } from '../../store/database.js';
import { rotateSigningKey } from '../../tokens/signing-keys.js';
import type { CliContext } from '../context.js';

/** `mailgate keys rotate`. Prints the new kid (and the previous one). */
export async function keysRotate(ctx: CliContext): Promise<void> {
  const { kid, previousKid } = await withDatabase(ctx.dataDir, (db) => rotateSigningKey(db, ctx.actor));
  if (ctx.json) ctx.out(JSON.stringify({ kid, previousKid: previousKid ?? null }));
  else {
    ctx.out(kid);
    ctx.err(
      `new signing key ${kid} is active${previousKid ? `; ${previousKid} keeps verifying the tokens it signed` : ''}`,
    );
  }
}
