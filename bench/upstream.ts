/**
 * A fixed-response HTTP/1.1 upstream for benchmarks: a raw TCP server that answers every
 * request head with the same canned response. It parses nothing but the end of each head, so
 * on one core it outruns every client measured and the numbers compare the clients, not it.
 * Run: node --import tsx bench/upstream.ts [port]  → prints "listening <port>".
 * BENCH_CACHE_CONTROL=<value> adds that `cache-control` to the response (the cache benchmark).
 */
import { createServer } from 'node:net';

const body = JSON.stringify({ ok: true, service: 'bench', items: [1, 2, 3] });
const cacheControl = process.env['BENCH_CACHE_CONTROL'];
const response = Buffer.from(
  `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
    (cacheControl === undefined ? '' : `cache-control: ${cacheControl}\r\n`) +
    `connection: keep-alive\r\n\r\n${body}`,
);
const END = Buffer.from('\r\n\r\n');

const server = createServer((socket) => {
  socket.setNoDelay(true);
  let tail = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    const data = tail.length > 0 ? Buffer.concat([tail, chunk]) : chunk;
    let count = 0;
    let from = 0;
    for (;;) {
      const at = data.indexOf(END, from);
      if (at === -1) break;
      count++;
      from = at + 4;
    }
    tail = from < data.length ? Buffer.from(data.subarray(from)) : Buffer.alloc(0);
    if (count === 1) socket.write(response);
    else if (count > 1) socket.write(Buffer.concat(Array.from({ length: count }, () => response)));
  });
  socket.on('error', () => socket.destroy());
});

server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  const address = server.address();
  console.log(`listening ${typeof address === 'object' && address !== null ? address.port : 0}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
