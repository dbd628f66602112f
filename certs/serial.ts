/**
 * @module Certificate serial numbers: 128 random bits, positive, exactly 32 hex digits.
 */
import { randomBytes } from 'node:crypto';

/**
 * A random serial as lower-case hex. The top bit is cleared (DER INTEGERs are signed, RFC 5280 4.1.2.2
 * wants positive) and the first byte is non-zero, so the DER encoding never needs or drops a 00 byte and
 * every tool prints the same 32 digits.
 * @example randomSerialHex() // '5f0c...' (32 digits)
 */
export function randomSerialHex(): string {
  for (;;) {
    const bytes = randomBytes(16);
    bytes[0] = bytes[0]! & 0x7f;
    if (bytes[0] !== 0) return bytes.toString('hex');
  }
}

/**
 * Normalises a user-typed serial (any case, optional ':' separators) to the stored form: whole bytes in
 * lower-case hex without leading 00 bytes, as OpenSSL's BN_bn2hex and Node print it. undefined = not hex.
 * @example normaliseSerial('0D:75:AB') // '0d75ab'
 */
export function normaliseSerial(text: string): string | undefined {
  const hex = text.replaceAll(':', '').toLowerCase();
  if (!/^[0-9a-f]{1,64}$/.test(hex)) return undefined;
  return (hex.length % 2 ? `0${hex}` : hex).replace(/^(00)+(?=..)/, '');
}
