import { describe, expect, it } from 'vitest';
import { qrPng, qrTerminal } from '../../../wireguard/qr-code.js';

const CONFIG = `[Interface]\nPrivateKey = ${'A'.repeat(43)}=\nAddress = 10.8.0.2/32\n`;

describe('peer config QR codes', () => {
  it('renders a PNG image', async () => {
    const png = await qrPng(CONFIG);
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  });

  it('renders a square block drawing for the terminal', async () => {
    const text = await qrTerminal(CONFIG);
    const lines = text.trimEnd().split('\n');
    expect(lines.length).toBeGreaterThan(10);
    expect(text).toMatch(/[█▀▄]/);
  });
});
