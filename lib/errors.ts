/**
 * @module One error hierarchy with stable codes. Code and tests match on `code`, never on message text.
 */

/** Why a bearer token was refused (tokens/token-error.ts maps each to its HTTP answer). */
export const TOKEN_ERROR_CODES = [
  'ERR_TOKEN_MISSING',
  'ERR_TOKEN_MALFORMED',
  'ERR_TOKEN_INVALID',
  'ERR_TOKEN_REVOKED',
  'ERR_TOKEN_SCOPE',
] as const;
export type TokenErrorCode = (typeof TOKEN_ERROR_CODES)[number];

/** Every other failure's code (docs/operations.md, "CLI errors"). */
export const ERROR_CODES = [
  'ERR_USAGE',
  'ERR_CONFIG',
  'ERR_NOT_FOUND',
  'ERR_CONFLICT',
  'ERR_CA_MISSING',
  'ERR_STORE',
  'ERR_CLOSED',
  'ERR_FILE',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number] | TokenErrorCode;

/** Base class of every failure a caller is expected to handle. */
export class MailgateError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A bad flag, argument or value supplied by the user: the CLI exits 2. */
export class UsageError extends MailgateError {
  /** The input field at fault when one check reads several (the admin API answers it as `field`). */
  readonly field: string | undefined;
  constructor(message: string, options?: { cause?: unknown; field?: string }) {
    super('ERR_USAGE', message, options);
    this.field = options?.field;
  }
}

/** The configuration breaks rules; each problem names its dotted key, one problem per message line. */
export class ConfigError extends MailgateError {
  readonly key: string;
  readonly problems: readonly string[];
  constructor(key: string, problem: string | readonly string[], options?: { cause?: unknown }) {
    const problems = typeof problem === 'string' ? [key ? `${key}: ${problem}` : problem] : problem;
    super('ERR_CONFIG', problems.join('\n'), options);
    this.key = key;
    this.problems = problems;
  }
}

/** A named thing (certificate, token, peer) does not exist. */
export class NotFoundError extends MailgateError {
  constructor(message: string) {
    super('ERR_NOT_FOUND', message);
  }
}

/** The operation would clash with existing state (file exists, duplicate name, already revoked). */
export class ConflictError extends MailgateError {
  constructor(message: string) {
    super('ERR_CONFLICT', message);
  }
}

/** No CA in the data dir yet. */
export class CaMissingError extends MailgateError {
  constructor(dataDir: string) {
    super('ERR_CA_MISSING', `no CA in ${dataDir}: run 'mailgate ca init' first`);
  }
}

/** The database is unreadable, foreign or from a newer mailgate. */
export class StoreError extends MailgateError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_STORE', message, options);
  }
}

/** A file could not be read or written. */
export class FileError extends MailgateError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_FILE', message, options);
  }
}

/** Use of a resource after close(). */
export class ClosedError extends MailgateError {
  constructor(what: string) {
    super('ERR_CLOSED', `${what} is closed`);
  }
}
