/**
 * @module The CA's public surface for the gateway and the admin API (re-exports only).
 */
export { caExists, caPaths, readCaCertificatePem } from './ca-files.js';
export { type InitCaOptions, type InitCaResult, initCa } from './ca-init.js';
export {
  type CertificateRecord,
  type CertificateStatus,
  type ListFilter,
  listCertificates,
  revokedSerials,
} from './certificate-store.js';
export { type CrlEntry, encodeCrl } from './crl-encode.js';
export { type CrlState, ensureFreshCrl } from './crl-store.js';
export {
  type IssueClientOptions,
  type IssuedClientCertificate,
  issueClientCertificate,
} from './issue-client.js';
export {
  type IssuedServerCertificate,
  type IssueServerOptions,
  issueServerCertificate,
} from './issue-server.js';
export { loadCa } from './load-ca.js';
export { type RevokeResult, revokeCertificate } from './revoke.js';
export {
  CLIENT_ROLES,
  type ClientRole,
  REVOCATION_REASONS,
  type RevocationReason,
  ROLE_URI_PREFIX,
} from './rules.js';
export { type EnsureServerCertificateOptions, ensureServerCertificate } from './server-auto.js';
