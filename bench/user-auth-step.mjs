import { performance } from 'node:perf_hooks';
// The auth step alone, in process: cost per request on a keep-alive connection (verified header cached).
// Run after `npm run build`: node bench/user-auth-step.mjs
const base = new URL('../packages/daemon/dist/', import.meta.url).href;
const { BasicUserGroup } = await import(base + 'auth/group.js');
const { parseUserGroupConfig } = await import(base + 'auth/group-config.js');
const { authorizeHttpRequest } = await import(base + 'auth/server-auth.js');
const { parseServerAuth } = await import(base + 'auth/server-auth-config.js');
const { HttpForwardTask } = await import(base + 'task/http-task.js');
const ctx = { baseDir: '/tmp', fail: () => { throw new Error('x'); } };
const cfg = parseUserGroupConfig({ name: 'g', static_users: [{ name: 'crypt', token: '$6$abcdefgh$hEHJCSqyNGISD5ir9k725MA80Nt8ygDruqp/Agk3yTj6ApoajAxcPht9xoaDMO2.mjiDimXcD6z3anRFYBXz40' }] }, ctx, 'basic');
const g = new BasicUserGroup(cfg, { plog: { warn() {} } });
const runtime = { gen: { maps: { user_group: new Map([['g', g]]) } }, server: () => ({ stats: {} }) };
const auth = parseServerAuth({ user_group: 'g' });
const conn = {};
const header = 'Basic ' + Buffer.from('crypt:toor').toString('base64');
const up = { host: '127.0.0.1', port: 80, ipFamily: 4 };
async function once() {
  const t = new HttpForwardTask('HttpForward', 's', 'HttpProxy', 'a', 'b');
  const r = await authorizeHttpRequest(runtime, auth, t, { serverName: 's', requestType: 'HttpForward', clientIp: '127.0.0.1', upstream: up, userAgent: 'curl/8', newConnection: false, connection: conn, proxyAuthorization: header });
  t.onFinish?.(t);
  return r;
}
await once();
for (let i = 0; i < 20000; i++) await once();
const N = 100000;
const t0 = performance.now();
for (let i = 0; i < N; i++) await once();
console.log('µs per authorized request (incl. task object):', ((performance.now() - t0) * 1000 / N).toFixed(2));
const t1 = performance.now();
for (let i = 0; i < N; i++) new HttpForwardTask('HttpForward', 's', 'HttpProxy', 'a', 'b');
console.log('µs per task object alone:', ((performance.now() - t1) * 1000 / N).toFixed(2));
