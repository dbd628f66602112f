/**
 * @module zod's own words for the issues a schema gives no problem of its own ('Invalid input: expected
 * boolean, received string', 'Too big: expected number to be <=397'), said as what the value must be,
 * in the words of the input's format. The config file and the admin API read their input through it.
 */
import type { z } from 'zod';

/** What a value of each kind must be, named as the input's format names its kinds. */
export type KindWords = Readonly<Record<'string' | 'number' | 'boolean' | 'object' | 'array', string>>;

/** The config file (YAML): mappings and lists. */
export const YAML_KINDS: KindWords = {
  string: 'must be text',
  number: 'must be a number',
  boolean: 'must be true or false',
  object: 'must be a mapping',
  array: 'must be a list',
};

/** Admin API bodies and queries (JSON): objects and arrays. */
export const JSON_KINDS: KindWords = {
  string: 'must be a string',
  number: 'must be a number',
  boolean: 'must be true or false',
  object: 'must be an object',
  array: 'must be an array',
};

/**
 * A zod error map saying what the value must be; a schema's own message still wins over it.
 * @example schema.safeParse(value, { error: plainProblems(JSON_KINDS) })
 */
export function plainProblems(kinds: KindWords): (issue: z.core.$ZodRawIssue) => string | undefined {
  return (issue) => {
    switch (issue.code) {
      case 'invalid_type':
        return issue.expected === 'record'
          ? kinds.object
          : (kinds[issue.expected as keyof KindWords] ?? `must be ${issue.expected}`);
      case 'too_small':
        return issue.origin === 'string'
          ? Number(issue.minimum) === 1
            ? 'must not be empty'
            : `must have at least ${issue.minimum} characters`
          : issue.origin === 'array'
            ? `needs at least ${issue.minimum} ${Number(issue.minimum) === 1 ? 'entry' : 'entries'}`
            : `must be at least ${issue.minimum}`;
      case 'too_big':
        return issue.origin === 'string'
          ? `must have at most ${issue.maximum} characters`
          : issue.origin === 'array'
            ? `takes at most ${issue.maximum} entries`
            : `must be at most ${issue.maximum}`;
      case 'invalid_value':
        return `must be one of ${issue.values.map(String).join(', ')}`;
      case 'invalid_format':
        return issue.format === 'url' ? 'must be a URL' : `must be a ${issue.format}`;
      case 'invalid_key':
        return issue.issues[0]?.message;
      default:
        return undefined;
    }
  };
}
