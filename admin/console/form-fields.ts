/**
 * @module Turning a posted HTML form into the shape the admin API's schemas validate: an empty field is
 * an absent one (forms send every input), numbers are converted for the schema to judge.
 */

/**
 * Picks `names` from `form`, leaving out empty values, converted by `convert` (default: kept as text).
 * @example validated(schema, { ...optionalFields(form, ['name']), ...optionalFields(form, ['days'], Number) }, 'body')
 */
export function optionalFields<T = string>(
  form: Readonly<Record<string, string>>,
  names: readonly string[],
  convert: (text: string) => T = (text) => text as T,
): Record<string, T> {
  const picked: Record<string, T> = {};
  for (const name of names) {
    const text = form[name]?.trim();
    if (text) picked[name] = convert(text);
  }
  return picked;
}
