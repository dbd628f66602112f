/**
 * @module Loads the YAML config (or the built-in defaults), applies MAILGATE_* overrides, validates.
 */
import { accessSync, constants, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../../lib/errors.js';
import { plainProblems, YAML_KINDS } from '../../lib/plain-problems.js';
import { DEFAULT_CONFIG } from './defaults.js';
import { type Config, configSchema } from './schema.js';

export interface LoadConfigOptions {
  /** YAML file; undefined = built-in defaults. */
  configPath: string | undefined;
  env: NodeJS.ProcessEnv;
  /** Data dir from --data-dir or MAILGATE_DATA_DIR; wins over the file's `dataDir`. */
  dataDir?: string | undefined;
}

/** Env overrides: variable -> dotted config key and how to read its text. */
const ENV_OVERRIDES: ReadonlyArray<[string, string, 'port' | 'string']> = [
  ['MAILGATE_PUBLIC_URL', 'publicUrl', 'string'],
  ['MAILGATE_HTTPS_HOST', 'listen.https.host', 'string'],
  ['MAILGATE_HTTPS_PORT', 'listen.https.port', 'port'],
  ['MAILGATE_HTTP_HOST', 'listen.http.host', 'string'],
  ['MAILGATE_HTTP_PORT', 'listen.http.port', 'port'],
  ['MAILGATE_ADMIN_HOST', 'listen.admin.host', 'string'],
  ['MAILGATE_ADMIN_PORT', 'listen.admin.port', 'port'],
  ['MAILGATE_METRICS_HOST', 'listen.metrics.host', 'string'],
  ['MAILGATE_METRICS_PORT', 'listen.metrics.port', 'port'],
  ['MAILGATE_TLS_CERT', 'tls.cert', 'string'],
  ['MAILGATE_TLS_KEY', 'tls.key', 'string'],
  ['MAILGATE_TLS_PROFILE', 'tls.profile', 'string'],
];

/**
 * Reads and validates the configuration. Relative paths in the file resolve against the file's folder.
 * @throws ConfigError listing every problem, each naming its dotted key.
 * @example const config = loadConfig({ configPath: './mailgate.yaml', env: process.env });
 */
export function loadConfig({ configPath, env, dataDir }: LoadConfigOptions): Config {
  let raw: unknown = structuredClone(DEFAULT_CONFIG);
  if (configPath !== undefined) {
    let text: string;
    try {
      text = readFileSync(configPath, 'utf8');
    } catch (cause) {
      throw new ConfigError(
        '',
        `cannot read config file ${configPath}: ${(cause as NodeJS.ErrnoException).code ?? cause}`,
      );
    }
    try {
      raw = parseYaml(text) ?? {};
    } catch (cause) {
      throw new ConfigError(
        '',
        `${configPath} is not valid YAML: ${(cause as Error).message.split('\n')[0]}`,
      );
    }
    if (typeof raw !== 'object' || Array.isArray(raw))
      throw new ConfigError('', `${configPath} must hold a mapping`);
  }
  const problems: string[] = [];
  const fromEnv = applyEnv(raw as Record<string, unknown>, env, problems);
  const result = configSchema.safeParse(raw, { reportInput: true, error: plainProblem });
  if (!result.success) {
    for (const issue of result.error.issues) problems.push(...describeIssue(issue, fromEnv));
    throw new ConfigError('', problems);
  }
  const config = result.data;
  const base = configPath ? dirname(configPath) : process.cwd();
  config.dataDir = dataDir ?? resolve(base, config.dataDir);
  // Paths from the file are relative to the file; paths from MAILGATE_TLS_* to the working directory.
  const baseOf = (key: string) => (fromEnv.has(key) ? process.cwd() : base);
  if (config.tls.cert !== 'auto') config.tls.cert = resolve(baseOf('tls.cert'), config.tls.cert);
  if (config.tls.key !== 'auto') config.tls.key = resolve(baseOf('tls.key'), config.tls.key);
  problems.push(...crossCheck(config));
  if (problems.length > 0) throw new ConfigError('', problems);
  return config;
}

/** Applies the MAILGATE_* overrides; returns which variable set which dotted key. */
function applyEnv(raw: Record<string, unknown>, env: NodeJS.ProcessEnv, problems: string[]) {
  const fromEnv = new Map<string, string>();
  for (const [name, key, kind] of ENV_OVERRIDES) {
    const text = env[name];
    if (text === undefined || text === '') continue;
    let value: unknown = text;
    if (kind === 'port') {
      if (!/^\d{1,5}$/.test(text) || Number(text) > 65_535) {
        problems.push(`${name}: '${text}' is not a port number`);
        continue;
      }
      value = Number(text);
    }
    setPath(raw, key.split('.'), value);
    fromEnv.set(key, name);
  }
  return fromEnv;
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown) {
  let node = target;
  for (const part of path.slice(0, -1)) {
    if (typeof node[part] !== 'object' || node[part] === null) node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  const last = path.at(-1)!;
  // A listener named only by its port gets the https default host.
  if (last === 'port' && node.host === undefined) node.host = path[1] === 'metrics' ? '127.0.0.1' : '0.0.0.0';
  node[last] = value;
}

const plainProblem = plainProblems(YAML_KINDS);

function describeIssue(issue: z.core.$ZodIssue, fromEnv: ReadonlyMap<string, string>): string[] {
  const path = issue.path.map(String).join('.');
  const variable = fromEnv.get(path);
  const key = variable ? `${path} (from ${variable})` : path || '(top level)';
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((k) => `${issue.path.length ? `${key}.` : ''}${k}: unknown key`);
  }
  if (issue.code === 'invalid_type' && issue.input === undefined) return [`${key}: is required`];
  return [`${key}: ${issue.message}`];
}

function crossCheck(config: Config): string[] {
  const problems: string[] = [];
  const seen = new Map<string, number>();
  config.routes.forEach((route, i) => {
    if (!(route.upstream in config.upstreams)) {
      problems.push(
        `routes.${i}.upstream: unknown upstream '${route.upstream}' (known: ${Object.keys(config.upstreams).join(', ')})`,
      );
    }
    if (route.scopes && route.auth !== 'token')
      problems.push(`routes.${i}.scopes: only token routes take scopes`);
    if (route.roles && route.auth !== 'admin')
      problems.push(`routes.${i}.roles: only admin routes take roles`);
    if (route.auth === 'token' && (!route.scopes || route.scopes.length === 0)) {
      problems.push(`routes.${i}.scopes: a token route needs at least one scope`);
    }
    if (route.path.startsWith('/_mailgate')) problems.push(`routes.${i}.path: /_mailgate is reserved`);
    const key = `${route.host ?? ''} ${route.path.toLowerCase().replace(/\/+$/, '') || '/'}`;
    const first = seen.get(key);
    if (first !== undefined) problems.push(`routes.${i}: same host and path as routes.${first}`);
    else seen.set(key, i);
  });
  for (const which of ['cert', 'key'] as const) {
    const path = config.tls[which];
    if (path === 'auto') continue;
    try {
      accessSync(path, constants.R_OK);
    } catch (cause) {
      problems.push(`tls.${which}: cannot read ${path} (${(cause as NodeJS.ErrnoException).code})`);
    }
  }
  if (config.admin.listenerOnly && !config.listen.admin) {
    problems.push('admin.listenerOnly: needs listen.admin (the console and API would be served nowhere)');
  }
  if ((config.tls.cert === 'auto') !== (config.tls.key === 'auto')) {
    problems.push('tls: cert and key must both be auto or both be paths');
  }
  if (config.cluster.replica && !config.cluster.redis)
    problems.push('cluster.replica: needs cluster.redis (a replica reads its state from Redis)');
  if (config.cluster.replica && config.tls.cert === 'auto')
    problems.push('cluster.replica: needs tls.cert and tls.key files (a replica holds no CA to issue one)');
  const ports = new Map<number, string>();
  for (const [name, l] of Object.entries(config.listen)) {
    if (!l || l.port === 0) continue;
    const other = ports.get(l.port);
    if (other) problems.push(`listen.${name}.port: ${l.port} is already used by listen.${other}`);
    ports.set(l.port, name);
  }
  return problems;
}
