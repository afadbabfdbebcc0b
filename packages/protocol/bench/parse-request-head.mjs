// Micro-benchmark (not a test): parse a typical ~500-byte proxy request head N times and print ns/op.
// Run after building: node packages/protocol/bench/parse-request-head.mjs [iterations]
import { HeadReader, parseAbsoluteTarget, parseRequestHead } from '../dist/index.js';

const head = Buffer.from(
  'GET http://www.example.com/some/path/to/a/resource.html?query=string&x=1 HTTP/1.1\r\n' +
    'Host: www.example.com\r\n' +
    'User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n' +
    'Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n' +
    'Accept-Language: en-US,en;q=0.5\r\n' +
    'Accept-Encoding: gzip, deflate, br\r\n' +
    'Referer: http://www.example.com/index.html\r\n' +
    'Cookie: session=0123456789abcdef0123456789abcdef; theme=dark\r\n' +
    'Proxy-Connection: keep-alive\r\n' +
    'Proxy-Authorization: Basic dXNlcm5hbWU6cGFzc3dvcmQ=\r\n' +
    'Upgrade-Insecure-Requests: 1\r\n' +
    'Connection: keep-alive\r\n' +
    '\r\n',
  'latin1',
);
const n = Number(process.argv[2] ?? 200_000);

function run(label, fn) {
  for (let i = 0; i < 20_000; i++) fn(); // warm-up so the timed loop runs optimized code
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn();
  const ns = Number(process.hrtime.bigint() - t0) / n;
  console.log(`${label}: ${ns.toFixed(0)} ns/op (${n} iterations)`);
}

const reader = new HeadReader();
let sink = 0;
console.log(`head: ${head.length} bytes`);
run('parseRequestHead', () => {
  sink += parseRequestHead(head).headers.length;
});
run('HeadReader.push + parseRequestHead + parseAbsoluteTarget', () => {
  reader.reset();
  const r = reader.push(head);
  const h = parseRequestHead(r.head);
  sink += parseAbsoluteTarget(h.target).port;
});
if (sink === 0) console.log('unreachable');
