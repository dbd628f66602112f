/**
 * @module Reads a client certificate's role from its structure: the DER of the subjectAltName extension,
 * never a text rendering of it. Pure.
 *
 * Why: Node's `subjectaltname` text joins every SAN as `type:value` with ', '; an e-mail SAN whose local
 * part held `URI:urn:mailgate:role:admin` read as a role URI to a regex over that text (issue 12). Here only
 * a uniformResourceIdentifier GeneralName counts, and exactly one of them may carry the role prefix. This
 * is a small DER walker rather than forge: the gateway reads it per connection and never loads forge
 * (about 11 MB). OpenSSL has verified the certificate before, so anything this walker cannot follow is
 * hostile or broken and yields no role (fail closed).
 */
import { CLIENT_ROLES, type ClientRole, ROLE_URI_PREFIX } from './rules.js';

export type RoleProblem =
  | 'malformed'
  | 'no_san'
  | 'duplicate_san'
  | 'no_role'
  | 'several_roles'
  | 'unknown_role';

export type RoleReading = { role: ClientRole } | { role: undefined; problem: RoleProblem };

/** One DER element: its tag byte and where its contents start and end in the buffer. */
interface Element {
  tag: number;
  start: number;
  end: number;
}

const SEQUENCE = 0x30;
const OID = 0x06;
const OCTET_STRING = 0x04;
const BOOLEAN = 0x01;
/** tbsCertificate's `extensions [3] EXPLICIT` (RFC 5280 §4.1). */
const EXTENSIONS = 0xa3;
/** GeneralName `uniformResourceIdentifier [6] IA5String`, implicitly tagged: primitive (RFC 5280 §4.2.1.6). */
const URI_NAME = 0x86;
/** The same tag constructed, which DER never produces for an IA5String. */
const URI_NAME_CONSTRUCTED = 0xa6;
/** id-ce-subjectAltName 2.5.29.17, as OID content bytes. */
const SAN_OID = [0x55, 0x1d, 0x11];

class DerError extends Error {}

/** The element at `offset`, which must end by `limit`. Low tag numbers and definite lengths only (DER). */
function element(der: Uint8Array, offset: number, limit: number): Element {
  if (offset + 2 > limit) throw new DerError();
  const tag = der[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError();
  let length = der[offset + 1]!;
  let start = offset + 2;
  if (length & 0x80) {
    const bytes = length & 0x7f;
    if (bytes === 0 || bytes > 3 || start + bytes > limit) throw new DerError();
    length = 0;
    for (let i = 0; i < bytes; i++) length = length * 256 + der[start + i]!;
    start += bytes;
  }
  const end = start + length;
  if (end > limit) throw new DerError();
  return { tag, start, end };
}

/** The elements inside a constructed element, in order; they must fill it exactly. */
function children(der: Uint8Array, parent: Element): Element[] {
  const list: Element[] = [];
  for (let offset = parent.start; offset < parent.end; ) {
    const child = element(der, offset, parent.end);
    list.push(child);
    offset = child.end;
  }
  return list;
}

function tagged(node: Element | undefined, tag: number): Element {
  if (node?.tag !== tag) throw new DerError();
  return node;
}

function bytesEqual(der: Uint8Array, node: Element, bytes: readonly number[]): boolean {
  if (node.end - node.start !== bytes.length) return false;
  return bytes.every((byte, i) => der[node.start + i] === byte);
}

/** The DER contents of every subjectAltName extension of a certificate. */
function sanExtensions(der: Uint8Array): Element[] {
  const certificate = tagged(element(der, 0, der.length), SEQUENCE);
  const tbs = tagged(children(der, certificate)[0], SEQUENCE);
  const wrapper = children(der, tbs).find((node) => node.tag === EXTENSIONS);
  if (!wrapper) return [];
  const wrapped = children(der, wrapper);
  if (wrapped.length !== 1) throw new DerError();
  const found: Element[] = [];
  for (const extension of children(der, tagged(wrapped[0], SEQUENCE))) {
    const parts = children(der, tagged(extension, SEQUENCE));
    const id = tagged(parts[0], OID);
    if (parts.length === 3) tagged(parts[1], BOOLEAN);
    else if (parts.length !== 2) throw new DerError();
    const value = tagged(parts[parts.length - 1], OCTET_STRING);
    if (bytesEqual(der, id, SAN_OID)) found.push(value);
  }
  return found;
}

/**
 * The role of a certificate given as DER: exactly one uniformResourceIdentifier SAN starting with
 * `urn:mailgate:role:` (compared case-insensitively, so that case variants count as a second role URI),
 * equal byte for byte to `urn:mailgate:role:<role>` for a known role. E-mail, DNS, other SAN types, the
 * subject and every other field are never read.
 * @example roleFromCertificate(new X509Certificate(pem).raw) // { role: 'viewer' }
 */
export function roleFromCertificate(der: Uint8Array): RoleReading {
  try {
    const sans = sanExtensions(der);
    // RFC 5280 §4.2: a certificate must not include more than one instance of an extension.
    if (sans.length === 0) return { role: undefined, problem: 'no_san' };
    if (sans.length > 1) return { role: undefined, problem: 'duplicate_san' };
    const names = tagged(element(der, sans[0]!.start, sans[0]!.end), SEQUENCE);
    if (names.end !== sans[0]!.end) throw new DerError();
    const roleUris: string[] = [];
    for (const name of children(der, names)) {
      if (name.tag === URI_NAME_CONSTRUCTED) throw new DerError();
      if (name.tag !== URI_NAME) continue;
      const uri = Buffer.from(der.buffer, der.byteOffset + name.start, name.end - name.start).toString(
        'latin1',
      );
      if (uri.toLowerCase().startsWith(ROLE_URI_PREFIX)) roleUris.push(uri);
    }
    if (roleUris.length === 0) return { role: undefined, problem: 'no_role' };
    if (roleUris.length > 1) return { role: undefined, problem: 'several_roles' };
    const role = CLIENT_ROLES.find((known) => roleUris[0] === `${ROLE_URI_PREFIX}${known}`);
    return role ? { role } : { role: undefined, problem: 'unknown_role' };
  } catch (error) {
    if (error instanceof DerError) return { role: undefined, problem: 'malformed' };
    throw error;
  }
}
