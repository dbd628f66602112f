/**
 * docs/operations.md "Error codes" is the one catalogue of the codes mailgate answers with: each of its
 * tables lists exactly the codes the source declares, with the status (or exit code) the source gives.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { API_ERROR_STATUS } from '../../admin/api/api-error.js';
import { GATEWAY_ERROR_STATUS } from '../../gateway/http-error.js';
import { ERROR_CODES, TOKEN_ERROR_CODES } from '../../lib/errors.js';
import { TokenError, tokenErrorStatus } from '../../tokens/token-error.js';

const OPERATIONS = readFileSync(new URL('../../docs/operations.md', import.meta.url), 'utf8');

/** The first two columns of the table under `### heading` in "## Error codes": code -> second cell. */
function catalogue(heading: string): Record<string, string> {
  const section = OPERATIONS.slice(OPERATIONS.indexOf('\n## Error codes\n'));
  const start = section.indexOf(`\n### ${heading}\n`);
  if (start < 0) throw new Error(`docs/operations.md has no "### ${heading}" under "## Error codes"`);
  const rows: Record<string, string> = {};
  const lines = section.slice(start).split('\n').slice(2);
  const table = lines.slice(lines.findIndex((line) => line.startsWith('|')));
  for (const line of table) {
    if (!line.startsWith('|')) break;
    const [code, second] = line
      .slice(1)
      .split('|')
      .map((cell) => cell.trim());
    const name = /^`([^`]+)`$/.exec(code!)?.[1];
    if (name) rows[name] = second!;
  }
  return rows;
}

const statuses = (map: Readonly<Record<string, number>>) =>
  Object.fromEntries(Object.entries(map).map(([code, status]) => [code, String(status)]));

describe('docs/operations.md error catalogue', () => {
  it('reads the tables it checks (sanity)', () => {
    expect(catalogue('Gateway responses').upstream_busy).toBe('503');
    expect(() => catalogue('No such table')).toThrow(/No such table/);
  });

  it('lists every gateway error code with its status, and no other', () => {
    expect(catalogue('Gateway responses')).toEqual(statuses(GATEWAY_ERROR_STATUS));
  });

  it('lists every admin API error code with its status, and no other', () => {
    expect(catalogue('Admin API responses')).toEqual(statuses(API_ERROR_STATUS));
  });

  it('lists every send-plane token failure with its status, and no other', () => {
    const documented = catalogue('Send-plane token failures');
    const status = (code: (typeof TOKEN_ERROR_CODES)[number]) =>
      String(tokenErrorStatus(new TokenError(code, 'x')));
    expect(Object.keys(documented).sort()).toEqual([...TOKEN_ERROR_CODES].sort());
    for (const code of TOKEN_ERROR_CODES) expect(documented[code]!.slice(0, 3)).toBe(status(code));
  });

  it('lists every other error code with the CLI exit code (2 for usage, else 1), and no other', () => {
    const exit = Object.fromEntries(ERROR_CODES.map((code) => [code, code === 'ERR_USAGE' ? '2' : '1']));
    expect(catalogue('CLI errors')).toEqual(exit);
  });
});
