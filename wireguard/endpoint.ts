/**
 * @module The server endpoint peers dial (`HOST:PORT`) and the IP addresses of `--dns` and `--route-public`.
 */
import { isIP } from 'node:net';
import { UsageError } from '../lib/errors.js';

/** Where peers reach the server: a DNS name or IP address, and a UDP port. */
export interface Endpoint {
  host: string;
  port: number;
}

/** RFC 1123 host name: labels of letters, digits and inner hyphens, 253 characters at most. */
const HOST_NAME =
  /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

/**
 * Parses `vpn.example.com:51820`, `203.0.113.7:51820` or `[2001:db8::7]:51820`.
 * @throws UsageError naming `--endpoint` for a bad host or a port outside 1-65535.
 */
export function parseEndpoint(text: string, flag = '--endpoint'): Endpoint {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text.trim());
  const [, bracketed, plain, portText] = match ?? [];
  const host = bracketed ?? plain ?? '';
  const hostOk = bracketed !== undefined ? isIP(bracketed) === 6 : validHost(host);
  if (!match || !hostOk) {
    throw new UsageError(
      `${flag} must be HOST:PORT with a host name or IP address (IPv6 in brackets), got '${text}'`,
    );
  }
  const port = Number(portText);
  if (port < 1 || port > 65_535) throw new UsageError(`${flag}: port must be 1-65535, got '${text}'`);
  return { host, port };
}

/** `host:port`, with an IPv6 host in brackets as wg-quick's Endpoint expects. */
export function formatEndpoint({ host, port }: Endpoint): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Returns `text` when it is an IPv4 or IPv6 address (for `--dns` and `--route-public`).
 * @throws UsageError naming the flag otherwise.
 */
export function parseIpAddress(text: string, flag: string): string {
  if (isIP(text) === 0) throw new UsageError(`${flag} must be an IP address, got '${text}'`);
  return text;
}

function validHost(host: string): boolean {
  // A dotted quad that is not a valid IPv4 address (300.1.1.1) is a typo, not a host name.
  if (/^[\d.]+$/.test(host)) return isIP(host) === 4;
  return HOST_NAME.test(host);
}
