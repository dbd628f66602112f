// Keep-alive HTTP upstream for the benchmark: answers every request with 200 "ok".
// Env: PORT (default 9080).
import http from 'node:http';

const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 2 });
    res.end('ok');
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT ?? 9080), '127.0.0.1', () => process.stdout.write('ready\n'));
