/**
 * @module Reading request input for the admin API: JSON bodies (size cap, media type, syntax, schema) and
 * query strings, validated with zod into typed values; every refusal names the field at fault.
 */
import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { z } from 'zod';
import { UsageError } from '../../lib/errors.js';
import { JSON_KINDS, plainProblems } from '../../lib/plain-problems.js';
import type { AdminEnv } from '../admin-env.js';
import { ApiError } from './api-error.js';

/** Largest request body accepted: every admin API body is a few hundred bytes. */
export const MAX_BODY_BYTES = 64 * 1024;

/** Reads no body past MAX_BODY_BYTES (413 `payload_too_large`), for JSON and form bodies alike. */
const withinBodyLimit = bodyLimit({
  maxSize: MAX_BODY_BYTES,
  onError: () => {
    throw new ApiError('payload_too_large', `the request body exceeds ${MAX_BODY_BYTES} bytes`);
  },
});

/** RFC 8259 §11 media type, with or without parameters (`application/json; charset=utf-8`). */
const JSON_MEDIA_TYPE = /^application\/json\s*(;|$)/i;

export interface JsonBodyOptions {
  /** An empty body counts as `{}` (for bodies whose every field is optional). Default false. */
  optional?: boolean;
}

type Validated<Target extends 'json' | 'query' | 'form', S extends z.ZodType<object>> = {
  in: { [K in Target]: z.input<S> };
  out: { [K in Target]: z.output<S> };
};

/**
 * Reads the body (at most MAX_BODY_BYTES, else 413 `payload_too_large`), requires `application/json`
 * (else 415 `unsupported_media_type`), parses it (else 400 `malformed_json`) and validates it against
 * `schema` (else 400 `invalid_field` naming the field). The handler reads it with `c.req.valid('json')`.
 * @example app.post('/tokens', jsonBody(issueSchema), (c) => c.json(c.req.valid('json')))
 */
export function jsonBody<S extends z.ZodType<object>>(
  schema: S,
  { optional = false }: JsonBodyOptions = {},
): MiddlewareHandler<AdminEnv, string, Validated<'json', S>> {
  return async function jsonBodyMiddleware(c, next) {
    await withinBodyLimit(c, async () => {
      const text = await c.req.text();
      let value: unknown = {};
      if (text !== '' || !optional) {
        if (!JSON_MEDIA_TYPE.test(c.req.header('content-type') ?? '')) {
          throw new ApiError('unsupported_media_type', 'the request body must be application/json');
        }
        try {
          value = JSON.parse(text);
        } catch {
          throw new ApiError('malformed_json', 'the request body is not valid JSON');
        }
      }
      c.req.addValidatedData('json', validated(schema, value, 'body'));
      await next();
    });
  };
}

/** HTML forms post this (WHATWG URL §5.1); the console reads nothing else. */
const FORM_MEDIA_TYPE = /^application\/x-www-form-urlencoded\s*(;|$)/i;

/**
 * Reads an HTML form body (at most MAX_BODY_BYTES, else 413; `application/x-www-form-urlencoded`, else
 * 415) into single string values; a repeated field is refused (400 `invalid_field`). The handler reads it
 * with `c.req.valid('form')` and validates it with the API's own schema.
 */
export function formBody(): MiddlewareHandler<
  AdminEnv,
  string,
  Validated<'form', z.ZodType<Record<string, string>>>
> {
  return async function formBodyMiddleware(c, next) {
    await withinBodyLimit(c, async () => {
      if (!FORM_MEDIA_TYPE.test(c.req.header('content-type') ?? '')) {
        throw new ApiError('unsupported_media_type', 'the request body must be a form');
      }
      const form: Record<string, string> = {};
      for (const [key, value] of new URLSearchParams(await c.req.text())) {
        if (Object.hasOwn(form, key))
          throw new ApiError('invalid_field', `${key}: given twice`, { field: key });
        form[key] = value;
      }
      c.req.addValidatedData('form', form);
      await next();
    });
  };
}

/**
 * Validates the query string (single values; a repeated key is refused) against `schema`; the handler
 * reads it with `c.req.valid('query')`.
 * @throws ApiError 400 `invalid_field` naming the parameter.
 */
export function validQuery<S extends z.ZodType<object>>(
  schema: S,
): MiddlewareHandler<AdminEnv, string, Validated<'query', S>> {
  return async function validQueryMiddleware(c, next) {
    const query: Record<string, string | string[]> = {};
    for (const [key, values] of Object.entries(c.req.queries()))
      query[key] = values.length === 1 ? values[0]! : values;
    c.req.addValidatedData('query', validated(schema, query, 'query'));
    await next();
  };
}

/**
 * Adapts a rule of certs/ or tokens/ (which throws UsageError) into a zod refinement, so the CLI and the
 * API enforce one rule. `message` replaces the rule's own text when that names a CLI flag.
 * @example z.string().superRefine(satisfies((v) => checkAppName(v, 'app')))
 */
export function satisfies<T>(check: (value: T) => unknown, message?: string) {
  const parse = parsedBy(check, message);
  return (value: T, ctx: z.RefinementCtx<T>) => {
    parse(value, ctx);
  };
}

/**
 * A zod transform through `parse` (a capability's own check, returning the typed value): its UsageError
 * becomes the field's issue (the field it names, when it checks a whole object), with `message` instead of
 * its own when given.
 * @example ttl: z.string().transform(parsedBy((text: string) => checkTtl(text, 'ttl')))
 */
export function parsedBy<T, R>(parse: (value: T) => R, message?: string) {
  return (value: T, ctx: z.RefinementCtx<T>): R => {
    try {
      return parse(value);
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      ctx.addIssue({
        code: 'custom',
        message: message ?? error.message,
        ...(error.field === undefined ? {} : { path: [error.field] }),
      });
      return z.NEVER;
    }
  };
}

/** zod's own words said as what the field must be ('must be a string', 'must be at most 200 characters'). */
const plainProblem = plainProblems(JSON_KINDS);

/**
 * Validates `value`; the first issue becomes the error. `whole` names the input when the issue is at its root.
 * @throws ApiError 400 `invalid_field` naming the field.
 */
export function validated<S extends z.ZodType<object>>(
  schema: S,
  value: unknown,
  whole: 'body' | 'query',
): z.output<S> {
  const result = schema.safeParse(value, { error: plainProblem });
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  if (issue.code === 'unrecognized_keys') {
    const field = [...issue.path, issue.keys[0]].join('.');
    throw new ApiError('invalid_field', `unknown field '${field}'`, { field });
  }
  const field = issue.path.join('.') || whole;
  // Rule messages (custom issues) already name their field; zod's own messages do not.
  const message = issue.code === 'custom' ? issue.message : `${field}: ${issue.message}`;
  throw new ApiError('invalid_field', message, { field });
}
