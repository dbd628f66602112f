import { describe, expect, it } from 'vitest';
import { normaliseSerial, randomSerialHex } from '../../../certs/serial.js';

describe('randomSerialHex', () => {
  it('gives 32 lower-case hex digits, positive, first byte non-zero, all distinct', () => {
    const serials = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const serial = randomSerialHex();
      expect(serial).toMatch(/^[0-7][0-9a-f]{31}$/);
      expect(serial.slice(0, 2)).not.toBe('00');
      serials.add(serial);
    }
    expect(serials.size).toBe(2000);
  });
});

describe('normaliseSerial', () => {
  it.each([
    ['0D:75:AB', '0d75ab'],
    ['0d75ab', '0d75ab'],
    ['D75AB', '0d75ab'],
    ['00ff', 'ff'],
    ['0000', '00'],
    ['alice', undefined],
    ['', undefined],
    ['12-34', undefined],
  ])('%j -> %j', (input, expected) => {
    expect(normaliseSerial(input)).toBe(expected);
  });
});
