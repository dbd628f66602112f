/**
 * @module The admin API's public surface for the gateway (re-exports only).
 */
export { ApiError, type ApiErrorCode } from './api-error.js';
export { ADMIN_API_BASE, createAdminApi } from './app.js';
export { OPENAPI_DOCUMENT } from './openapi.js';
export type { AdminApiOptions } from './options.js';
export type { AdminStatus, UpstreamHealth } from './status.js';
