// A keep-alive HTTPS load generator that can present a client certificate (wrk cannot).
// Usage: node bench/load.mjs URL SECONDS CONNECTIONS  (env CA, CERT, KEY, HEADER="Name: value", H2=1 for
// h2 over ALPN, one session per connection)
// Prints one JSON line: { requests, seconds, rps, p50ms, p99ms, errors, statuses }.
import { readFileSync } from 'node:fs';
import { Agent, request } from 'undici';

const [url, seconds = '8', connections = '32'] = process.argv.slice(2);
const tls = { ca: process.env.CA && readFileSync(process.env.CA), servername: 'localhost' };
if (process.env.CERT)
  Object.assign(tls, { cert: readFileSync(process.env.CERT), key: readFileSync(process.env.KEY) });
const agent = new Agent({
  connections: Number(connections),
  pipelining: 1,
  connect: tls,
  keepAliveTimeout: 60_000,
  allowH2: process.env.H2 === '1',
});
const headers = { host: 'localhost' };
if (process.env.HEADER) {
  const colon = process.env.HEADER.indexOf(':');
  headers[process.env.HEADER.slice(0, colon).toLowerCase()] = process.env.HEADER.slice(colon + 1).trim();
}
const latencies = [];
const statuses = {};
let errors = 0;
const end = performance.now() + Number(seconds) * 1000;
async function worker() {
  while (performance.now() < end) {
    const start = performance.now();
    try {
      const res = await request(url, { dispatcher: agent, headers });
      await res.body.dump();
      statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
      latencies.push(performance.now() - start);
    } catch {
      errors++;
    }
  }
}
const started = performance.now();
await Promise.all(Array.from({ length: Number(connections) }, worker));
const elapsed = (performance.now() - started) / 1000;
latencies.sort((a, b) => a - b);
const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((latencies.length * p) / 100))] ?? 0;
process.stdout.write(
  `${JSON.stringify({ requests: latencies.length, seconds: elapsed, rps: latencies.length / elapsed, p50ms: pct(50), p99ms: pct(99), errors, non200: latencies.length - (statuses[200] ?? 0), statuses })}\n`,
);
await agent.close();
