// The h2 ceiling for a Node gateway: the core http2 stream API ('stream' events, stream.respond) and an
// undici Pool.request piped to the stream, nothing else (/work/shared/bench/node-proxy-h2.mjs, MODE=stream).
// Forwards the same three headers as that reference: Host from :authority, X-Forwarded-For and -Proto.
// Env: PORT, UPSTREAM, CERT, KEY, POOL_CONNECTIONS (default 128: mailgate's default pool, as raw-proxy.mjs).
import { readFileSync } from 'node:fs';
import http2 from 'node:http2';
import { Pool } from 'undici';

const HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
]);
const pool = new Pool(process.env.UPSTREAM, {
  connections: Number(process.env.POOL_CONNECTIONS ?? 128),
  pipelining: 1,
  keepAliveTimeout: 60_000,
});
const server = http2.createSecureServer({
  cert: readFileSync(process.env.CERT),
  key: readFileSync(process.env.KEY),
});

const forwardHeaders = (inbound, authority, address) => {
  const out = {};
  for (const name in inbound)
    if (name[0] !== ':' && !HOP.has(name) && name !== 'host') out[name] = inbound[name];
  out.host = authority;
  out['x-forwarded-for'] = address;
  out['x-forwarded-proto'] = 'https';
  return out;
};
const responseHeaders = (headers) => {
  const out = {};
  for (const name in headers) if (!HOP.has(name)) out[name] = headers[name];
  return out;
};

server.on('stream', (stream, headers) => {
  stream.on('error', () => {});
  const method = headers[':method'];
  pool
    .request({
      method,
      path: headers[':path'],
      headers: forwardHeaders(headers, headers[':authority'], stream.session.socket.remoteAddress),
      body: method === 'GET' || method === 'HEAD' ? null : stream,
    })
    .then(
      ({ statusCode, headers: upstream, body }) => {
        // The client may have reset the stream meanwhile (h2load does at the end of a timed run).
        if (stream.destroyed) return body.destroy();
        stream.respond({ ':status': statusCode, ...responseHeaders(upstream) });
        body.pipe(stream);
      },
      () => {
        if (stream.destroyed) return;
        stream.respond({ ':status': 502 });
        stream.end();
      },
    );
});
server.listen(Number(process.env.PORT), '127.0.0.1');
