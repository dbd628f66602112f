/**
 * @module QR codes of a peer config for the WireGuard mobile apps: terminal text and PNG (npm package qrcode).
 */
import QRCode from 'qrcode';

const ERROR_CORRECTION = 'L';

/**
 * The config as a QR code drawn with Unicode half blocks, for a phone to scan from the terminal.
 * Error correction L (as `qrencode -t ansiutf8 < peer.conf` uses): a ~400-byte config then fits in
 * about 80 columns, and a screen has no smudges to correct for.
 */
export function qrTerminal(text: string): Promise<string> {
  return QRCode.toString(text, { type: 'terminal', small: true, errorCorrectionLevel: ERROR_CORRECTION });
}

/** The config as a PNG image (for a file or the admin UI). */
export function qrPng(text: string): Promise<Buffer> {
  return QRCode.toBuffer(text, { type: 'png', errorCorrectionLevel: ERROR_CORRECTION, margin: 4, scale: 6 });
}
