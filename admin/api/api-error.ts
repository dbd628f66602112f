/**
 * @module The admin API's errors: a stable `code` per failure, mapped to HTTP in one place. The body has
 * the gateway's shape (gateway/http-error.ts), `{"error":{"status","code","message"}}`, plus `field` for
 * validation errors. Messages describe the caller's own input, never internals.
 */
import { MailgateError } from '../../lib/errors.js';

export type ApiErrorCode =
  | 'invalid_field'
  | 'invalid_request'
  | 'malformed_json'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'ca_missing'
  | 'payload_too_large'
  | 'unsupported_media_type';

/** Each code's status; also the list of codes (docs/operations.md "Admin API responses" is checked against it). */
export const API_ERROR_STATUS = {
  invalid_field: 400,
  invalid_request: 400,
  malformed_json: 400,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  ca_missing: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
} as const satisfies Record<ApiErrorCode, number>;

/** A refusal the client caused; its message is safe to send. */
export class ApiError extends Error {
  readonly code: ApiErrorCode;
  readonly status: (typeof API_ERROR_STATUS)[ApiErrorCode];
  /** The request field at fault (dotted path), for validation errors. */
  readonly field: string | undefined;

  constructor(code: ApiErrorCode, message: string, options?: { field?: string; cause?: unknown }) {
    super(message, { cause: options?.cause });
    this.name = 'ApiError';
    this.code = code;
    this.status = API_ERROR_STATUS[code];
    this.field = options?.field;
  }

  /** The JSON body sent to the client. */
  toJSON() {
    return {
      error: {
        status: this.status,
        code: this.code,
        message: this.message,
        ...(this.field !== undefined && { field: this.field }),
      },
    };
  }
}

/**
 * Maps what a handler threw to the refusal the client sees, or undefined for an unexpected failure (a
 * bug, an unreadable store or file), which must surface as a plain 500 with the cause only in the log.
 * Domain errors keep their message: it is about the caller's input (unknown serial, already revoked).
 */
export function toApiError(error: unknown): ApiError | undefined {
  if (error instanceof ApiError) return error;
  if (!(error instanceof MailgateError)) return undefined;
  switch (error.code) {
    case 'ERR_USAGE':
      return new ApiError('invalid_request', error.message, { cause: error });
    case 'ERR_NOT_FOUND':
      return new ApiError('not_found', error.message, { cause: error });
    case 'ERR_CONFLICT':
      return new ApiError('conflict', error.message, { cause: error });
    case 'ERR_CA_MISSING':
      // The CA error names the data dir; the client only needs to know what to do.
      return new ApiError('ca_missing', "no CA yet: run 'mailgate ca init' first", { cause: error });
    default:
      return undefined;
  }
}
