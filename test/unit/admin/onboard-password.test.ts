import { describe, expect, it } from 'vitest';
import { generatePassword, PASSWORD_ALPHABET, PASSWORD_BITS } from '../../../admin/onboard-password.js';
import { checkPkcs12Password } from '../../../certs/pkcs12.js';

describe('onboarding password', () => {
  it('is 4 groups of 5 unambiguous characters, about 99 bits', () => {
    expect(PASSWORD_BITS).toBeGreaterThan(98);
    expect(PASSWORD_ALPHABET).not.toMatch(/[01ilo]/);
    const password = generatePassword();
    expect(password).toMatch(new RegExp(`^[${PASSWORD_ALPHABET}]{5}(-[${PASSWORD_ALPHABET}]{5}){3}$`));
    expect(checkPkcs12Password(password)).toBe(password);
  });

  it('draws every symbol of the alphabet and repeats no password', () => {
    const passwords = Array.from({ length: 500 }, generatePassword);
    expect(new Set(passwords).size).toBe(passwords.length);
    const seen = new Set(passwords.join('').replaceAll('-', ''));
    expect([...seen].sort().join('')).toBe([...PASSWORD_ALPHABET].sort().join(''));
  });
});
