/**
 * @module What the node with the store (the origin, where the CLI runs) publishes through Redis for the
 * replicas: the CA certificate, the CRL, the token verification keys, each token's app and limits, each
 * client certificate's role, and the revoked token ids and certificate serials. Pure: building the
 * published form, and reading it back with every field checked (a value a replica did not expect is
 * refused whole, never applied in part).
 */
import { z } from 'zod';
import { CLIENT_ROLES, type ClientRole } from '../certs/rules.js';
import type { PublicJwk } from '../tokens/signing-keys.js';
import type { TokenLimits } from '../tokens/token-limits.js';

/** One token as a replica needs it: the guard checks app, revocation and limits (never the secret). */
export interface ReplicatedToken {
  id: string;
  app: string;
  limits: TokenLimits;
}

/** The origin's state as every replica serves it. */
export interface ReplicatedState {
  caPem: string;
  crl: { pem: string; number: number };
  jwks: PublicJwk[];
  tokens: ReplicatedToken[];
  /** Serial -> role of every client certificate. */
  roles: Map<string, ClientRole>;
  revokedTokens: Set<string>;
  revokedSerials: Set<string>;
}

const id = z.string().regex(/^[A-Za-z0-9_-]{1,128}$/);
const serial = z.string().regex(/^[0-9a-f]{1,64}$/);
const count = z.number().int().min(1).max(1_000_000_000);
const pem = (label: string) =>
  z
    .string()
    .max(1_000_000)
    .refine((text) => text.includes(`-----BEGIN ${label}-----`), `not a PEM ${label}`);

/** The JSON document under `mailgate:state` (revocations are in their own set). */
const documentSchema = z.strictObject({
  v: z.literal(1),
  caPem: pem('CERTIFICATE'),
  crl: z.strictObject({ pem: pem('X509 CRL'), number: z.number().int().min(1) }),
  jwks: z
    .array(
      z.strictObject({
        kty: z.literal('OKP'),
        crv: z.literal('Ed25519'),
        x: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
        kid: z.string().min(1).max(128),
        alg: z.literal('EdDSA'),
        use: z.literal('sig'),
      }),
    )
    .max(10_000),
  tokens: z
    .array(
      z.strictObject({
        id,
        app: z.string().min(1).max(200),
        rate: z.strictObject({ count, perMs: z.number().int().min(1).max(31_622_400_000) }),
        burst: count,
        quotaPerDay: count.nullable(),
      }),
    )
    .max(1_000_000),
  roles: z.record(serial, z.enum(CLIENT_ROLES)),
  /** How many members the revoked set must hold: a set that lost members is refused, never applied. */
  revokedCount: z.number().int().min(0),
});

export type StateDocument = z.output<typeof documentSchema>;

/** The set members that name revoked credentials. */
export function revokedMembers(state: Pick<ReplicatedState, 'revokedTokens' | 'revokedSerials'>): string[] {
  return [
    ...[...state.revokedTokens].map((tokenId) => `token:${tokenId}`),
    ...[...state.revokedSerials].map((s) => `cert:${s}`),
  ].sort();
}

/** The published document of a state (its revocations go to the set, counted here). */
export function stateDocument(state: ReplicatedState): StateDocument {
  return {
    v: 1,
    caPem: state.caPem,
    crl: state.crl,
    jwks: state.jwks,
    tokens: state.tokens.map(({ id: tokenId, app, limits }) => ({
      id: tokenId,
      app,
      rate: limits.rate,
      burst: limits.burst,
      quotaPerDay: limits.quotaPerDay ?? null,
    })),
    roles: Object.fromEntries(state.roles),
    revokedCount: state.revokedTokens.size + state.revokedSerials.size,
  };
}

/**
 * What must change the TLS session ticket keys: the CRL and the revoked set. Two origins reading the
 * same store compute the same value, so they do not rotate each other's keys.
 */
export function revocationFingerprint(
  state: Pick<ReplicatedState, 'crl' | 'revokedTokens' | 'revokedSerials'>,
) {
  return `${state.crl.number}\n${revokedMembers(state).join('\n')}`;
}

export type ReadResult = { ok: true; state: ReplicatedState } | { ok: false; problem: string };

/**
 * Reads the published document and the revoked set back. Refused whole when the document is not JSON or
 * breaks the schema, when a member of the set is malformed, or when the set holds fewer members than the
 * document counts (removed revocations would let a credential back in).
 */
export function readState(documentText: unknown, members: unknown): ReadResult {
  if (typeof documentText !== 'string') return { ok: false, problem: 'no state document' };
  let json: unknown;
  try {
    json = JSON.parse(documentText);
  } catch {
    return { ok: false, problem: 'state document is not JSON' };
  }
  const parsed = documentSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return { ok: false, problem: `state document: ${issue.path.join('.') || '(top)'}: ${issue.message}` };
  }
  if (!Array.isArray(members)) return { ok: false, problem: 'revoked set is not a set' };
  const revokedTokens = new Set<string>();
  const revokedSerials = new Set<string>();
  for (const member of members) {
    if (typeof member === 'string' && member.startsWith('token:') && id.safeParse(member.slice(6)).success)
      revokedTokens.add(member.slice(6));
    else if (
      typeof member === 'string' &&
      member.startsWith('cert:') &&
      serial.safeParse(member.slice(5)).success
    )
      revokedSerials.add(member.slice(5));
    else return { ok: false, problem: 'revoked set holds a malformed member' };
  }
  const document = parsed.data;
  if (revokedTokens.size + revokedSerials.size < document.revokedCount)
    return { ok: false, problem: 'revoked set holds fewer members than the state counts' };
  return {
    ok: true,
    state: {
      caPem: document.caPem,
      crl: document.crl,
      jwks: document.jwks,
      tokens: document.tokens.map((token) => ({
        id: token.id,
        app: token.app,
        limits: { rate: token.rate, burst: token.burst, quotaPerDay: token.quotaPerDay ?? undefined },
      })),
      roles: new Map(Object.entries(document.roles)),
      revokedTokens,
      revokedSerials,
    },
  };
}
