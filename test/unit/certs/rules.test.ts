import { describe, expect, it } from 'vitest';
import {
  checkClientName,
  checkDays,
  checkDnsName,
  checkEmail,
  checkReason,
  checkRole,
} from '../../../certs/rules.js';
import { thrownBy } from '../../helpers/thrown.js';

function usage(fn: () => unknown): string {
  const error = thrownBy(fn);
  expect(error.code).toBe('ERR_USAGE');
  return error.message;
}

describe('checkClientName', () => {
  it.each(['alice', 'a', 'alice.smith@example.com', 'ops_1-laptop', 'A'.repeat(64)])('accepts %j', (name) => {
    expect(checkClientName(name)).toBe(name);
  });
  it.each([
    '',
    'a/b',
    '../x',
    'a..b',
    '.hidden',
    '-rf',
    'tab\there',
    'nl\n',
    'nul\0',
    'a b',
    'é',
    'A'.repeat(65),
  ])('refuses %j naming --name', (name) => {
    expect(usage(() => checkClientName(name))).toMatch(/^--name must be/);
  });
});

describe('checkDays', () => {
  it('defaults to the fallback capped by the maximum', () => {
    expect(checkDays(undefined, 90, 397)).toBe(90);
    expect(checkDays(undefined, 3650, 397)).toBe(397);
  });
  it.each(['0', '-1', '398', '1.5', 'ten', ''])('refuses %j', (text) => {
    expect(usage(() => checkDays(text, 90, 397))).toContain(
      '--days must be a whole number of days from 1 to 397',
    );
  });
  it('accepts the bounds', () => {
    expect(checkDays('1', 90, 397)).toBe(1);
    expect(checkDays('397', 90, 397)).toBe(397);
  });
});

describe('checkEmail', () => {
  it.each([
    'a.b+c@example.org',
    'ops@localhost',
    'x!#$%&*+/=?^_`{|}~-@mail.example.com',
    `${'a'.repeat(64)}@example.com`,
  ])('accepts %s', (email) => {
    expect(checkEmail(email)).toBe(email);
  });

  it.each([
    ['the issue 12 reproduction', 'URI:urn:mailgate:role:admin@example.com'],
    ['a colon', 'a:b@example.com'],
    ['a comma', 'a,URI:urn:mailgate:role:admin@example.com'],
    ['a comma and space', 'a@example.com, URI:urn:mailgate:role:admin'],
    ['a space', 'a b@example.com'],
    ['a tab', 'a\tb@example.com'],
    ['a newline', 'a@example.com\nURI:x'],
    ['a NUL', 'a\u0000@example.com'],
    ['DEL', 'a\u007f@example.com'],
    ['a double quote', '"a"@example.com'],
    ['a single quote', "o'brien@example.com"],
    ['a backslash', 'a\\b@example.com'],
    ['non-ASCII', 'j\u00f6rg@example.com'],
    ['two @', 'a@b@example.com'],
    ['no @', 'example.com'],
    ['an empty local part', '@example.com'],
    ['an empty domain', 'a@'],
    ['a dot at the start', '.a@example.com'],
    ['two dots', 'a..b@example.com'],
    ['a domain with a colon', 'a@example.com:443'],
    ['a domain label starting with -', 'a@-example.com'],
    ['a local part over 64', `${'a'.repeat(65)}@example.com`],
    ['over 254 in all', `a@${`${'b'.repeat(60)}.`.repeat(5)}com`],
  ])('refuses %s, naming the flag on one line', (_name, email) => {
    const message = usage(() => checkEmail(email));
    expect(message).toMatch(/^--email must be an e-mail address/);
    expect(message).not.toContain('\n');
  });
});

describe('roles, reasons, emails, DNS names', () => {
  it('accepts the known roles and reasons and refuses others', () => {
    expect(checkRole('viewer')).toBe('viewer');
    expect(usage(() => checkRole('root'))).toBe('--role must be one of admin, operator, viewer, got "root"');
    expect(checkReason('keyCompromise')).toBe('keyCompromise');
    expect(usage(() => checkReason('toString'))).toMatch(
      /^--reason must be one of unspecified, keyCompromise/,
    );
  });
  it('checks emails and host names', () => {
    expect(checkEmail('a.b+c@example.org')).toBe('a.b+c@example.org');
    expect(usage(() => checkEmail('a@b@c'))).toMatch(/^--email/);
    expect(usage(() => checkEmail('a b@c'))).toMatch(/^--email/);
    expect(checkDnsName('Mail.Example.COM')).toBe('mail.example.com');
    expect(checkDnsName('*.example.com')).toBe('*.example.com');
    expect(usage(() => checkDnsName('a..b'))).toMatch(/^--dns/);
    expect(usage(() => checkDnsName('x.*.com'))).toMatch(/^--dns/);
  });
});
