/**
 * @module nginx configurations for tests: one http block with every temporary path in a test folder
 * (nginx runs unprivileged there, without its Debian defaults).
 */
import { join } from 'node:path';

/**
 * A whole nginx.conf around `servers` (one or more server blocks); pid and temp files live in `dir`.
 * @example nginxConfig(dir, 'server { listen 127.0.0.1:8080; }', 'daemon off;')
 */
export function nginxConfig(dir: string, servers: string, main = ''): string {
  return `pid ${join(dir, 'nginx.pid')};
${main}
events {}
http {
  access_log off;
  client_body_temp_path ${dir};
  proxy_temp_path ${dir};
  fastcgi_temp_path ${dir};
  uwsgi_temp_path ${dir};
  scgi_temp_path ${dir};
${servers}
}
`;
}
