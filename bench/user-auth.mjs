// Requests per second through http_proxy on one keep-alive connection, with Basic auth (a crypt token and
// a salted fast-hash token) and without, in the same daemon. The issue's target: auth within 10% of no auth.
// Run after `npm run build`: node bench/user-auth.mjs [seconds per run, default 2]
import { connect } from 'node:net';
import { createServer } from 'node:http';
import { startDaemon } from '../packages/testkit/dist/index.js';

const seconds = Number(process.argv[2] ?? 2);

const origin = createServer((req, res) => {
  res.writeHead(200, { 'content-length': 2 });
  res.end('ok');
});
await new Promise((r) => origin.listen(0, '127.0.0.1', r));
const op = origin.address().port;

const d = await startDaemon({
  files: {
    'main.yaml': `
log: stdout
resolver: [{name: default, type: c-ares}]
escaper:
  - {name: direct, type: direct_fixed, resolver: default, egress_network_filter: {default: allow, allow: 127.0.0.1}}
user_group:
  - name: users
    static_users:
      - name: crypt
        token: "$6$abcdefgh$hEHJCSqyNGISD5ir9k725MA80Nt8ygDruqp/Agk3yTj6ApoajAxcPht9xoaDMO2.mjiDimXcD6z3anRFYBXz40"
      - name: fast
        token: {salt: 113323bdab6fd2cc, md5: 5c81f2becadde7fa5fde9026652ccc84, sha1: ff9d5c1a14328dd85ee95d4e574bd0558a1dfa96}
server:
  - {name: plain, type: http_proxy, listen: 127.0.0.1:0, escaper: direct}
  - {name: auth, type: http_proxy, listen: 127.0.0.1:0, escaper: direct, user_group: users}
`,
  },
});

/** Sequential GETs on one connection for `seconds`; returns requests per second. */
async function run(port, user) {
  const s = connect({ port, host: '127.0.0.1' });
  await new Promise((r) => s.once('connect', r));
  const auth = user ? `Proxy-Authorization: Basic ${Buffer.from(`${user}:toor`).toString('base64')}\r\n` : '';
  const req = Buffer.from(`GET http://127.0.0.1:${op}/ HTTP/1.1\r\nHost: 127.0.0.1:${op}\r\n${auth}\r\n`);
  let n = 0;
  let buf = '';
  const end = Date.now() + seconds * 1000;
  await new Promise((resolve) => {
    s.on('data', (d) => {
      buf += d.toString('latin1');
      // each response is a small fixed-size message ending in the 2-byte body
      while (buf.includes('\r\n\r\nok')) {
        buf = buf.slice(buf.indexOf('\r\n\r\nok') + 6);
        n++;
        if (Date.now() < end) s.write(req);
        else return resolve();
      }
    });
    s.write(req);
  });
  s.destroy();
  return n / seconds;
}

try {
  const plainPort = await d.port('plain');
  const authPort = await d.port('auth');
  await run(plainPort, null); // warm up
  // interleaved rounds, best of each: the machine is shared, so the best round is the least disturbed one
  let plain = 0;
  let crypt = 0;
  let fast = 0;
  for (let round = 0; round < 3; round++) {
    plain = Math.max(plain, await run(plainPort, null));
    crypt = Math.max(crypt, await run(authPort, 'crypt'));
    fast = Math.max(fast, await run(authPort, 'fast'));
  }
  const pct = (x) => `${((x / plain - 1) * 100).toFixed(1)}%`;
  console.log(`no auth:            ${plain.toFixed(0)} req/s`);
  console.log(`basic, sha512-crypt: ${crypt.toFixed(0)} req/s (${pct(crypt)})`);
  console.log(`basic, salted md5/sha1: ${fast.toFixed(0)} req/s (${pct(fast)})`);
} finally {
  await d.stop();
  origin.close();
}
