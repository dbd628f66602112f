/**
 * @module The schema, as an append-only list of migrations applied by `PRAGMA user_version`.
 * Never edit a released entry: add a new one.
 */

/** Times are milliseconds since the epoch (UTC). JSON columns hold arrays or objects. */
export const MIGRATIONS: readonly string[] = [
  // 1: CA inventory, CRL state, audit trail, signing keys, tokens, quotas, WireGuard.
  `
  CREATE TABLE certificates (
    serial            TEXT PRIMARY KEY,          -- lower-case hex, as openssl prints it
    kind              TEXT NOT NULL CHECK (kind IN ('ca', 'client', 'server')),
    name              TEXT NOT NULL,             -- subject CN
    role              TEXT,                      -- client certificates only
    email             TEXT,
    sans              TEXT NOT NULL DEFAULT '[]',-- JSON array of "DNS:x" / "IP:x" / "email:x" / "URI:x"
    not_before        INTEGER NOT NULL,
    not_after         INTEGER NOT NULL,
    fingerprint256    TEXT NOT NULL,             -- AA:BB:... as Node prints it
    cert_pem          TEXT NOT NULL,
    created_at        INTEGER NOT NULL,
    revoked_at        INTEGER,
    revocation_reason TEXT
  );
  CREATE INDEX certificates_name ON certificates (name);
  CREATE INDEX certificates_revoked ON certificates (revoked_at) WHERE revoked_at IS NOT NULL;

  CREATE TABLE crl (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    number      INTEGER NOT NULL,
    this_update INTEGER NOT NULL,
    next_update INTEGER NOT NULL,
    pem         TEXT NOT NULL
  );

  CREATE TABLE audit (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    at      INTEGER NOT NULL,
    actor   TEXT NOT NULL,                       -- "cli:root@host", "cert:<serial>", "gateway"
    action  TEXT NOT NULL,                       -- "ca.issue", "ca.revoke", "admin.access", ...
    target  TEXT,
    outcome TEXT NOT NULL CHECK (outcome IN ('ok', 'denied', 'error')),
    detail  TEXT                                 -- JSON object, never secrets
  );
  CREATE INDEX audit_at ON audit (at);

  CREATE TABLE signing_keys (
    kid         TEXT PRIMARY KEY,
    alg         TEXT NOT NULL,
    public_jwk  TEXT NOT NULL,
    private_jwk TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    active      INTEGER NOT NULL DEFAULT 0
  );

  CREATE TABLE tokens (
    id            TEXT PRIMARY KEY,
    app           TEXT NOT NULL,
    scopes        TEXT NOT NULL,                 -- JSON array
    kid           TEXT NOT NULL REFERENCES signing_keys (kid),
    rate_count    INTEGER,
    rate_per_ms   INTEGER,
    burst         INTEGER,
    quota_per_day INTEGER,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    revoked_at    INTEGER,
    last_used_at  INTEGER
  );

  CREATE TABLE token_usage (
    token_id TEXT NOT NULL,
    day      TEXT NOT NULL,                      -- UTC date, YYYY-MM-DD
    count    INTEGER NOT NULL,
    PRIMARY KEY (token_id, day)
  );

  CREATE TABLE wg_server (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    private_key TEXT NOT NULL,
    public_key  TEXT NOT NULL,
    endpoint    TEXT NOT NULL,
    cidr        TEXT NOT NULL,
    address     TEXT NOT NULL,
    listen_port INTEGER NOT NULL,
    created_at  INTEGER NOT NULL
  );

  CREATE TABLE wg_peers (
    name          TEXT PRIMARY KEY,
    address       TEXT NOT NULL UNIQUE,
    public_key    TEXT NOT NULL,
    preshared_key TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER,
    disabled      INTEGER NOT NULL DEFAULT 0
  );
  `,
  // 2: the serials a CRL lists, so its freshness check needs no DER parsing (and no node-forge) at start.
  `ALTER TABLE crl ADD COLUMN serials TEXT;`,
];
