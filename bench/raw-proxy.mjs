// The ceiling for a Node gateway: node:https + undici Pool.request piped to the response, nothing else.
// FORWARD=1 adds the five forwarding headers every mailgate request carries upstream (security rule 6),
// to show what they cost on their own.
// Env: PORT, UPSTREAM, CERT, KEY, FORWARD.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { Pool } from 'undici';

const HOP = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'proxy-connection',
]);
const strip = (headers) => {
  const out = {};
  for (const name in headers) if (!HOP.has(name)) out[name] = headers[name];
  return out;
};
const forward = process.env.FORWARD === '1';
const upstreamHeaders = (req) => {
  const headers = strip(req.headers);
  if (!forward) return headers;
  headers['x-forwarded-for'] = req.socket.remoteAddress;
  headers['x-real-ip'] = req.socket.remoteAddress;
  headers['x-forwarded-proto'] = 'https';
  headers['x-forwarded-host'] = req.headers.host;
  headers['x-request-id'] = randomUUID();
  return headers;
};
const pool = new Pool(process.env.UPSTREAM, { connections: 128, pipelining: 1, keepAliveTimeout: 60_000 });
const server = https.createServer(
  { cert: readFileSync(process.env.CERT), key: readFileSync(process.env.KEY) },
  (req, res) => {
    pool
      .request({
        method: req.method,
        path: req.url,
        headers: upstreamHeaders(req),
        body: req.method === 'GET' || req.method === 'HEAD' ? null : req,
      })
      .then(
        ({ statusCode, headers, body }) => {
          res.writeHead(statusCode, strip(headers));
          body.pipe(res);
        },
        () => {
          res.writeHead(502);
          res.end();
        },
      );
  },
);
server.listen(Number(process.env.PORT), '127.0.0.1', () => process.stdout.write('ready\n'));
