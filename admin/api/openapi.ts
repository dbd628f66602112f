/**
 * @module The OpenAPI 3.1 description of the admin API, served at /_mailgate/admin/api/openapi.json.
 * Hand-written: keep it in step with the route files (the unit test checks every route is listed).
 */

import { CLIENT_ROLES, type ClientRole } from '../../certs/rules.js';
import { MAX_BODY_BYTES } from './request-input.js';

type Schema = Record<string, unknown>;

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Schema) => ({ content: { 'application/json': { schema } } });
const error = (description: string) => ({ description, ...json(ref('Error')) });
const isoTime = { type: 'string', format: 'date-time' };
const nullable = (schema: Schema) => ({ anyOf: [schema, { type: 'null' }] });

/** One operation: the minimum role, the success response, and the refusals it can give. */
function operation(
  id: string,
  summary: string,
  role: ClientRole,
  ok: { status: 200 | 201; description: string; schema: Schema },
  refusals: Record<string, string> = {},
  extra: Schema = {},
) {
  return {
    operationId: id,
    summary,
    'x-mailgate-minimum-role': role,
    ...extra,
    responses: {
      [ok.status]: { description: ok.description, ...json(ok.schema) },
      '403': error('Role below the minimum (code forbidden)'),
      ...Object.fromEntries(Object.entries(refusals).map(([status, text]) => [status, error(text)])),
    },
  };
}

const bodyRefusals = {
  '400': 'Malformed JSON (malformed_json) or a bad field (invalid_field, names the field)',
  '413': `Body over ${MAX_BODY_BYTES} bytes (payload_too_large)`,
  '415': 'Body not application/json (unsupported_media_type)',
};

const requestBody = (schema: Schema, required = true) => ({ requestBody: { required, ...json(schema) } });

const queryParameter = (name: string, description: string, schema: Schema) => ({
  name,
  in: 'query',
  required: false,
  description,
  schema,
});

const pathParameter = (name: string, description: string) => ({
  name,
  in: 'path',
  required: true,
  description,
  schema: { type: 'string' },
});

const certificate = {
  type: 'object',
  required: ['serial', 'kind', 'name', 'status', 'notBefore', 'notAfter', 'fingerprint256'],
  properties: {
    serial: { type: 'string', description: 'Lower-case hex' },
    kind: { enum: ['ca', 'client', 'server'] },
    name: { type: 'string' },
    role: nullable({ enum: [...CLIENT_ROLES] }),
    email: nullable({ type: 'string' }),
    sans: { type: 'array', items: { type: 'string' } },
    notBefore: isoTime,
    notAfter: isoTime,
    status: { enum: ['valid', 'revoked', 'expired'] },
    revokedAt: nullable(isoTime),
    revocationReason: nullable({ type: 'string' }),
    fingerprint256: { type: 'string' },
  },
};

const token = {
  type: 'object',
  required: ['id', 'app', 'scopes', 'status', 'kid', 'limits', 'createdAt', 'expiresAt'],
  properties: {
    id: { type: 'string', pattern: '^tok_[A-Za-z0-9_-]{16}$' },
    app: { type: 'string' },
    scopes: { type: 'array', items: { type: 'string' } },
    status: { enum: ['active', 'revoked', 'expired'] },
    kid: { type: 'string' },
    limits: {
      type: 'object',
      properties: {
        rate: { type: 'object', properties: { count: { type: 'integer' }, perMs: { type: 'integer' } } },
        burst: { type: 'integer' },
        quotaPerDay: nullable({ type: 'integer' }),
      },
    },
    createdAt: isoTime,
    expiresAt: isoTime,
    revokedAt: nullable(isoTime),
    lastUsedAt: nullable(isoTime),
  },
};

const expiry = nullable({
  type: 'object',
  properties: {
    serial: { type: 'string' },
    subject: { type: 'string' },
    notAfter: isoTime,
    daysLeft: { type: 'integer' },
  },
});

const perPlane = (schema: Schema) => ({
  type: 'object',
  properties: { public: schema, token: schema, admin: schema },
});
const seconds = { type: ['number', 'null'], description: 'Seconds; null without requests' };
const trafficCounts = {
  type: 'object',
  properties: {
    requests: perPlane({ type: 'integer' }),
    denied: { type: 'integer' },
    latency: perPlane({
      type: 'object',
      description: 'Percentiles of the merged latency histogram (interpolated inside its bucket)',
      properties: { p50: seconds, p95: seconds, p99: seconds },
    }),
  },
};

/** The document; `servers` is relative so it holds behind any host name. */
export const OPENAPI_DOCUMENT = {
  openapi: '3.1.0',
  info: {
    title: 'mailgate admin API',
    version: '1',
    description:
      'Reached over the admin plane only: a client certificate from the mailgate CA, not revoked, from an ' +
      'address in admin.sourceCidrs. Roles: viewer reads, operator also revokes, admin also issues. Every ' +
      'call is audited with actor cert:<serial>.',
  },
  servers: [{ url: '/_mailgate/admin/api' }],
  security: [{ clientCertificate: [] }],
  paths: {
    '/status': {
      get: operation('getStatus', 'CA, server certificate and CRL expiry; upstream health', 'viewer', {
        status: 200,
        description: 'Status',
        schema: ref('Status'),
      }),
    },
    '/traffic': {
      get: operation(
        'getTraffic',
        'The last hour of requests, latency and denials per 10 s bucket, of every worker under workers',
        'viewer',
        { status: 200, description: 'Traffic', schema: ref('Traffic') },
      ),
    },
    '/certificates': {
      get: operation(
        'listCertificates',
        'The certificate inventory, newest first',
        'viewer',
        {
          status: 200,
          description: 'Certificates',
          schema: {
            type: 'object',
            properties: { certificates: { type: 'array', items: ref('Certificate') } },
          },
        },
        { '400': 'Bad query parameter (invalid_field)' },
        {
          parameters: [
            queryParameter('revoked', 'Only revoked certificates', { enum: ['true', 'false'] }),
            queryParameter('expiring', 'Only valid certificates expiring within DAYS', {
              type: 'string',
              pattern: '^[0-9]{1,5}$',
            }),
          ],
        },
      ),
      post: operation(
        'issueCertificate',
        'Issue a client certificate; the private key is returned once and not stored',
        'admin',
        { status: 201, description: 'The new certificate with its key', schema: ref('IssuedCertificate') },
        { ...bodyRefusals, '409': 'No CA yet (ca_missing)' },
        {
          ...requestBody({
            type: 'object',
            additionalProperties: false,
            required: ['name', 'role'],
            properties: {
              name: { type: 'string', pattern: '^[A-Za-z0-9_@][A-Za-z0-9._@-]{0,63}$' },
              role: { enum: [...CLIENT_ROLES] },
              email: { type: 'string' },
              days: { type: 'integer', minimum: 1, description: 'Default ca.clientDays, at most ca.maxDays' },
              p12Password: {
                type: 'string',
                description: 'Also return a PKCS#12 bundle under this password',
              },
              p12Algorithm: { enum: ['3des', 'aes256'], default: '3des' },
            },
          }),
        },
      ),
    },
    '/certificates/{serial}/revoke': {
      post: operation(
        'revokeCertificate',
        'Revoke a certificate; the gateway refuses it within a second',
        'operator',
        {
          status: 200,
          description: 'The revoked certificate and the new CRL number',
          schema: { allOf: [ref('Certificate'), { properties: { crlNumber: { type: 'integer' } } }] },
        },
        { ...bodyRefusals, '404': 'Unknown serial (not_found)', '409': 'Already revoked (conflict)' },
        {
          parameters: [pathParameter('serial', 'Hex serial, any case, colons allowed')],
          ...requestBody(
            {
              type: 'object',
              additionalProperties: false,
              properties: {
                reason: {
                  enum: [
                    'unspecified',
                    'keyCompromise',
                    'affiliationChanged',
                    'superseded',
                    'cessationOfOperation',
                  ],
                },
              },
            },
            false,
          ),
        },
      ),
    },
    '/tokens': {
      get: operation('listTokens', 'API token metadata (never the tokens)', 'viewer', {
        status: 200,
        description: 'Tokens',
        schema: { type: 'object', properties: { tokens: { type: 'array', items: ref('Token') } } },
      }),
      post: operation(
        'issueToken',
        'Issue an API token; it is returned once and never stored',
        'admin',
        { status: 201, description: 'The new token', schema: ref('IssuedToken') },
        bodyRefusals,
        {
          ...requestBody({
            type: 'object',
            additionalProperties: false,
            required: ['app', 'scopes'],
            properties: {
              app: { type: 'string', pattern: '^[A-Za-z0-9._@-]{1,64}$' },
              scopes: { type: 'array', minItems: 1, items: { type: 'string' } },
              ttl: { type: 'string', default: '90d', description: 'Duration, 1s to 3650d' },
              rate: { type: 'string', description: 'COUNT/UNIT such as 60/min' },
              burst: { type: 'integer', minimum: 1 },
              quota: { type: 'string', description: 'COUNT/day such as 1000/day' },
            },
          }),
        },
      ),
    },
    '/tokens/{id}/revoke': {
      post: operation(
        'revokeToken',
        'Revoke an API token; the gateway refuses it within a second',
        'operator',
        { status: 200, description: 'The revoked token', schema: ref('Token') },
        { ...bodyRefusals, '404': 'Unknown id (not_found)', '409': 'Already revoked (conflict)' },
        { parameters: [pathParameter('id', 'Token id, tok_...')] },
      ),
    },
    '/audit': {
      get: operation(
        'readAudit',
        'The audit trail, newest first, one page at a time (denials tallied per client, reason and 5-minute window)',
        'viewer',
        {
          status: 200,
          description: 'Audit records',
          schema: {
            type: 'object',
            properties: {
              since: isoTime,
              next: {
                ...nullable(isoTime),
                description: 'Older records were left out: ask again with before=next',
              },
              entries: { type: 'array', items: ref('AuditEntry') },
            },
          },
        },
        { '400': 'Bad query parameter (invalid_field)' },
        {
          parameters: [
            queryParameter('since', 'How far back: 30m, 24h, 7d', { type: 'string', default: '24h' }),
            queryParameter('limit', 'Page size, 1 to 10000', { type: 'integer', default: 100 }),
            queryParameter('before', "Only records before this time (the previous page's next)", isoTime),
          ],
        },
      ),
    },
    '/openapi.json': {
      get: operation('getOpenApi', 'This document', 'viewer', {
        status: 200,
        description: 'OpenAPI 3.1',
        schema: { type: 'object' },
      }),
    },
  },
  components: {
    securitySchemes: {
      clientCertificate: { type: 'mutualTLS', description: 'A client certificate issued by the mailgate CA' },
    },
    schemas: {
      Error: {
        type: 'object',
        required: ['error'],
        properties: {
          error: {
            type: 'object',
            required: ['status', 'code', 'message'],
            properties: {
              status: { type: 'integer' },
              code: {
                enum: [
                  'invalid_field',
                  'invalid_request',
                  'malformed_json',
                  'forbidden',
                  'not_found',
                  'conflict',
                  'ca_missing',
                  'payload_too_large',
                  'unsupported_media_type',
                  'internal_error',
                ],
              },
              message: { type: 'string' },
              field: { type: 'string', description: 'The field at fault (invalid_field)' },
            },
          },
        },
      },
      Certificate: certificate,
      IssuedCertificate: {
        type: 'object',
        required: ['serial', 'name', 'role', 'notBefore', 'notAfter', 'fingerprint256', 'certPem', 'keyPem'],
        properties: {
          serial: { type: 'string' },
          name: { type: 'string' },
          role: { enum: [...CLIENT_ROLES] },
          email: nullable({ type: 'string' }),
          notBefore: isoTime,
          notAfter: isoTime,
          fingerprint256: { type: 'string' },
          certPem: { type: 'string' },
          keyPem: { type: 'string', description: 'PKCS#8 PEM, unencrypted' },
          caCertPem: { type: 'string' },
          p12: { type: 'string', contentEncoding: 'base64', description: 'Only with p12Password' },
        },
      },
      Token: token,
      IssuedToken: {
        type: 'object',
        required: ['id', 'app', 'scopes', 'expiresAt', 'kid', 'token'],
        properties: {
          id: { type: 'string' },
          app: { type: 'string' },
          scopes: { type: 'array', items: { type: 'string' } },
          expiresAt: isoTime,
          kid: { type: 'string' },
          token: { type: 'string', description: 'Compact JWS, shown once' },
        },
      },
      AuditEntry: {
        type: 'object',
        properties: {
          id: { type: 'integer' },
          at: isoTime,
          actor: { type: 'string' },
          action: { type: 'string' },
          target: nullable({ type: 'string' }),
          outcome: { enum: ['ok', 'denied', 'error'] },
          detail: nullable({ type: 'object' }),
        },
      },
      Status: {
        type: 'object',
        properties: {
          time: isoTime,
          ca: expiry,
          serverCertificate: expiry,
          crl: nullable({ type: 'object', properties: { number: { type: 'integer' }, nextUpdate: isoTime } }),
          clientCertificates: {
            type: 'object',
            properties: {
              valid: { type: 'integer' },
              revoked: { type: 'integer' },
              expired: { type: 'integer' },
              expiringSoon: { type: 'integer', description: 'Valid, expiring within 30 days' },
            },
          },
          upstreams: {
            type: 'array',
            items: {
              type: 'object',
              properties: { name: { type: 'string' }, reachable: { type: ['boolean', 'null'] } },
            },
          },
        },
      },
      Traffic: {
        type: 'object',
        properties: {
          time: isoTime,
          intervalSeconds: { type: 'number' },
          windowSeconds: { type: 'number' },
          scope: {
            type: 'object',
            description:
              'process: one process. workers: every worker merged; missing lists the workers whose figures ' +
              'since their last bucket boundary did not arrive. worker: the primary did not answer, this ' +
              "worker's own figures only",
            properties: {
              kind: { enum: ['process', 'workers', 'worker'] },
              workers: { type: 'integer' },
              missing: { type: 'array', items: { type: 'integer' } },
              worker: { type: 'integer' },
            },
          },
          totals: { ...trafficCounts, description: 'Over the whole window' },
          intervals: {
            type: 'array',
            description: 'Oldest first; the last one may still be filling',
            items: {
              ...trafficCounts,
              properties: {
                end: { type: 'integer', description: 'Epoch ms' },
                seconds: { type: 'number' },
                ...trafficCounts.properties,
              },
            },
          },
        },
      },
    },
  },
} as const;
