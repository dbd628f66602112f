/**
 * @module `mailgate admin onboard NAME ...`: normalise flags, onboard, print the password once.
 */
import { resolve } from 'node:path';
import { adminPagesUrl } from '../../admin/onboard-guide.js';
import { checkClientName, checkDays, checkEmail, checkRole } from '../../certs/rules.js';
import { withDatabase } from '../../store/database.js';
import { parseIpAddress } from '../../wireguard/endpoint.js';
import { APPLY_PEERS_COMMAND } from '../../wireguard/server-config.js';
import { serverMissing } from '../../wireguard/store.js';
import type { FlagValues } from '../command-spec.js';
import type { CliContext } from '../context.js';
import { optionalList, optionalString, requiredString, secretFromFile } from '../flags.js';

/**
 * `admin onboard NAME [--role R] --out DIR [--email ADDR] [--days N] [--dns IP[,IP...]] [--route-public IP]
 * [--p12-password-file F] [--with-pem-key] [--json]`
 */
export async function adminOnboard(flags: FlagValues, positionals: string[], ctx: CliContext): Promise<void> {
  const name = checkClientName(positionals[0]!, 'NAME');
  const role = checkRole(optionalString(flags, 'role') ?? 'admin');
  const outDir = resolve(requiredString(flags, 'out'));
  const emailText = optionalString(flags, 'email');
  const email = emailText === undefined ? undefined : checkEmail(emailText);
  const dns = optionalList(flags, 'dns')?.map((ip) => parseIpAddress(ip, '--dns'));
  const routeText = optionalString(flags, 'route-public');
  const routePublic = routeText === undefined ? undefined : parseIpAddress(routeText, '--route-public');
  const givenPassword = secretFromFile(optionalString(flags, 'p12-password-file'), '--p12-password-file');
  const { checkPkcs12Password } = await import('../../certs/pkcs12.js');
  if (givenPassword !== undefined) checkPkcs12Password(givenPassword);
  const config = await ctx.config();
  const days = checkDays(optionalString(flags, 'days'), config.ca.clientDays, config.ca.maxDays);
  const adminUrl = adminPagesUrl(config.publicUrl);
  const { onboardAdmin } = await import('../../admin/onboard.js');
  // Without a database there is no WireGuard server either: refuse without creating one.
  const result = await withDatabase(
    ctx.dataDir,
    (db) =>
      onboardAdmin(db, ctx.dataDir, {
        name,
        role,
        email,
        days,
        dns,
        routePublic,
        outDir,
        adminUrl,
        actor: ctx.actor,
        password: givenPassword,
        withPemKey: flags['with-pem-key'] === true,
      }),
    serverMissing,
  );
  // A password the operator gave in a file is theirs already: never print it.
  const password = givenPassword === undefined ? result.password : undefined;
  // Given an output folder, onboardAdmin wrote the files and returns their paths.
  const files = result.files!;
  if (ctx.json) {
    ctx.out(JSON.stringify({ name, role, serial: result.serial, address: result.address, password, files }));
    return;
  }
  if (password !== undefined) ctx.out(`PKCS#12 password for ${name}: ${password}`);
  ctx.err(
    `onboarded '${name}' (role ${role}, certificate ${result.serial}, tunnel address ${result.address})`,
  );
  for (const [kind, path] of Object.entries(files)) ctx.err(`  ${kind.padEnd(5)} ${path}`);
  ctx.err(
    password === undefined
      ? `the p12 is protected with the password from the file: give it to ${name} by another channel than the files; read ${files.guide}`
      : `the password is shown only now: give it to ${name} by another channel than the files; read ${files.guide}`,
  );
  ctx.err(`apply the new peer on the server: ${APPLY_PEERS_COMMAND}`);
}
