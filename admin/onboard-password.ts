/**
 * @module The one-time PKCS#12 password handed to a new admin: random, readable aloud, typed once.
 */
import { randomInt } from 'node:crypto';

/** Lower-case letters and digits without the look-alikes 0/o, 1/l/i. */
export const PASSWORD_ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';
const GROUPS = 4;
const GROUP_LENGTH = 5;

/** Entropy of one password in bits: 20 symbols of 31, about 99 bits. */
export const PASSWORD_BITS = GROUPS * GROUP_LENGTH * Math.log2(PASSWORD_ALPHABET.length);

/**
 * A password of 4 dash-separated groups of 5 characters from PASSWORD_ALPHABET, drawn with
 * `crypto.randomInt` (uniform, no modulo bias). Printable ASCII, so every PKCS#12 importer accepts it.
 * @example generatePassword() // 'k7m2q-x9hfa-3tcpw-ne8ds'
 */
export function generatePassword(): string {
  const groups: string[] = [];
  for (let g = 0; g < GROUPS; g++) {
    let group = '';
    for (let i = 0; i < GROUP_LENGTH; i++) group += PASSWORD_ALPHABET[randomInt(PASSWORD_ALPHABET.length)];
    groups.push(group);
  }
  return groups.join('-');
}
