/**
 * @module TLS profiles of the HTTPS listeners (Mozilla's server-side TLS guidelines, version 6) and the
 * Strict-Transport-Security value. Pure.
 */
import type { SecureContextOptions } from 'node:tls';

export type TlsProfileName = 'intermediate' | 'modern';

export interface HstsConfig {
  /** Seconds browsers remember to use https only. */
  maxAge: number;
  includeSubDomains: boolean;
  preload: boolean;
}

type ProfileOptions = Pick<SecureContextOptions, 'minVersion' | 'ciphers' | 'ecdhCurve' | 'honorCipherOrder'>;

/**
 * TLS 1.3 suites are OpenSSL's three defaults (all AEAD with forward secrecy); named here so that the
 * TLS 1.2 list below does not replace them.
 */
const TLS13_SUITES = 'TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256';

/**
 * intermediate: TLS 1.2 with ECDHE and AEAD suites only (no CBC: LUCKY13; no 3DES: SWEET32; no RSA key
 * exchange: no forward secrecy; no DHE: weak client groups), plus TLS 1.3. Every client of the last ten
 * years (Android 4.4.2, iOS 9, Windows 7 with IE 11, Outlook 2013, Java 8u31) connects. The client's
 * preference decides, as Mozilla recommends when every suite is strong (mobiles prefer ChaCha20).
 * modern: TLS 1.3 only (Android 10, iOS 12.2, Firefox 63, Chrome 70, Windows 11; not Outlook on Windows 10
 * before 20H1 and not older ActiveSync phones).
 */
export const TLS_PROFILES: Readonly<Record<TlsProfileName, ProfileOptions>> = {
  intermediate: {
    minVersion: 'TLSv1.2',
    ciphers: [
      TLS13_SUITES,
      'ECDHE-ECDSA-AES128-GCM-SHA256',
      'ECDHE-RSA-AES128-GCM-SHA256',
      'ECDHE-ECDSA-AES256-GCM-SHA384',
      'ECDHE-RSA-AES256-GCM-SHA384',
      'ECDHE-ECDSA-CHACHA20-POLY1305',
      'ECDHE-RSA-CHACHA20-POLY1305',
    ].join(':'),
    ecdhCurve: 'X25519:P-256:P-384',
    honorCipherOrder: false,
  },
  modern: {
    minVersion: 'TLSv1.3',
    ciphers: TLS13_SUITES,
    ecdhCurve: 'X25519:P-256:P-384',
    honorCipherOrder: false,
  },
};

/**
 * The Strict-Transport-Security value for `tls.hsts`, or undefined when it is off.
 * @example hstsHeader({ maxAge: 31536000, includeSubDomains: true, preload: false }) // 'max-age=31536000; includeSubDomains'
 */
export function hstsHeader(hsts: HstsConfig | undefined): string | undefined {
  if (hsts === undefined) return undefined;
  let value = `max-age=${hsts.maxAge}`;
  if (hsts.includeSubDomains) value += '; includeSubDomains';
  if (hsts.preload) value += '; preload';
  return value;
}
