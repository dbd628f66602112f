/**
 * @module The CA's input rules: client names, roles, revocation reasons, validity bounds. Pure.
 */
import { UsageError } from '../lib/errors.js';

export const CLIENT_ROLES = ['admin', 'operator', 'viewer'] as const;
export type ClientRole = (typeof CLIENT_ROLES)[number];

/** RFC 5280 section 5.3.1 CRLReason codes of the reasons `ca revoke` offers. */
export const REVOCATION_REASONS = {
  unspecified: 0,
  keyCompromise: 1,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
} as const;
export type RevocationReason = keyof typeof REVOCATION_REASONS;

/** The role travels in the certificate as this URI SAN, so the gateway needs no lookup to authorise. */
export const ROLE_URI_PREFIX = 'urn:mailgate:role:';

export const DAY_MS = 86_400_000;
/** notBefore is backdated so that a client whose clock runs a little behind still accepts the certificate. */
export const CLOCK_SKEW_MS = 5 * 60_000;
export const DEFAULT_CA_DAYS = 3650;
export const DEFAULT_SERVER_DAYS = 365;
export const DEFAULT_CA_CN = 'mailgate CA';

/**
 * Checks a client certificate name: 1-64 of [A-Za-z0-9._@-], not starting with '.' or '-', no '..'.
 * The name becomes a file name (NAME.p12), so these rules keep it inside the output folder.
 * @throws UsageError naming the flag.
 */
export function checkClientName(name: string, flag = '--name'): string {
  if (!/^[A-Za-z0-9_@][A-Za-z0-9._@-]{0,63}$/.test(name) || name.includes('..')) {
    throw new UsageError(
      `${flag} must be 1-64 characters of A-Z a-z 0-9 . _ @ -, not starting with '.' or '-' and without '..', got ${JSON.stringify(name)}`,
    );
  }
  return name;
}

/** @throws UsageError for a role outside CLIENT_ROLES. */
export function checkRole(role: string): ClientRole {
  if (!(CLIENT_ROLES as readonly string[]).includes(role)) {
    throw new UsageError(`--role must be one of ${CLIENT_ROLES.join(', ')}, got ${JSON.stringify(role)}`);
  }
  return role as ClientRole;
}

/** @throws UsageError for a reason outside REVOCATION_REASONS. */
export function checkReason(reason: string): RevocationReason {
  if (!Object.hasOwn(REVOCATION_REASONS, reason)) {
    throw new UsageError(
      `--reason must be one of ${Object.keys(REVOCATION_REASONS).join(', ')}, got ${JSON.stringify(reason)}`,
    );
  }
  return reason as RevocationReason;
}

/**
 * Parses a validity in days: a whole number from 1 to `max`.
 * @throws UsageError naming the flag.
 */
export function checkDays(text: string | undefined, fallback: number, max: number, flag = '--days'): number {
  if (text === undefined) return Math.min(fallback, max);
  if (!/^-?\d+$/.test(text) || Number(text) < 1 || Number(text) > max) {
    throw new UsageError(`${flag} must be a whole number of days from 1 to ${max}, got '${text}'`);
  }
  return Number(text);
}

/** RFC 5322 §3.2.3 atext without `'` (which Node's SAN text escaping treats as a quote), dot-separated. */
const EMAIL_LOCAL = /^[A-Za-z0-9!#$%&*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&*+/=?^_`{|}~-]+)*$/;
const EMAIL_DOMAIN =
  /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/**
 * Checks an e-mail address for the rfc822Name SAN: a dot-atom local part (at most 64 characters) and a
 * DNS domain, at most 254 in all. No `:`, `,`, quotes, whitespace or control characters: text renderings
 * of the SAN list (`email:…, URI:…`) must not be able to read one as a role URI (issue 12).
 * @throws UsageError naming the flag.
 */
export function checkEmail(email: string, flag = '--email'): string {
  const at = email.lastIndexOf('@');
  const local = email.slice(0, at);
  const domain = email.slice(at + 1);
  if (
    at < 1 ||
    local.length > 64 ||
    email.length > 254 ||
    !EMAIL_LOCAL.test(local) ||
    !EMAIL_DOMAIN.test(domain)
  ) {
    throw new UsageError(
      `${flag} must be an e-mail address (local@domain; no ':', ',', quotes, spaces or control characters), got ${JSON.stringify(email)}`,
    );
  }
  return email;
}

/** DNS names for server certificates: letters, digits, '-' and '.', optionally one leading '*.' label. */
export function checkDnsName(host: string): string {
  const name = host.toLowerCase();
  if (!/^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/.test(name)) {
    throw new UsageError(`--dns holds an invalid host name ${JSON.stringify(host)}`);
  }
  return name;
}
