import { describe, expect, it } from 'vitest';
import { matchesSearch } from '../../../../admin/console/certificates-page.js';
import { optionalFields } from '../../../../admin/console/form-fields.js';
import type { CertificateRecord } from '../../../../certs/certificate-store.js';

describe('optionalFields', () => {
  it('leaves out empty and blank fields, trims and converts the rest', () => {
    const form = { name: ' alice ', email: '', days: '30', role: '   ' };
    expect(optionalFields(form, ['name', 'email', 'role', 'missing'])).toEqual({ name: 'alice' });
    expect(optionalFields(form, ['days'], Number)).toEqual({ days: 30 });
  });

  it('passes text that is not a number on as NaN, for the schema to refuse', () => {
    expect(optionalFields({ days: 'ten' }, ['days'], Number)).toEqual({ days: Number.NaN });
  });
});

describe('matchesSearch', () => {
  const cert = {
    serial: '0a1b2c',
    kind: 'client',
    name: 'Alice',
    role: 'operator',
    email: 'alice@example.com',
  } as CertificateRecord;

  it.each([
    ['', true],
    ['  ', true],
    ['ali', true],
    ['ALICE', true],
    ['0A1B', true],
    ['example.com', true],
    ['operator', true],
    ['bob', false],
  ])('%j -> %s', (query, expected) => {
    expect(matchesSearch(cert, query)).toBe(expected);
  });
});
