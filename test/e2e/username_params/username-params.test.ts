/**
 * g3's username params choosing the next proxy: `user+label1=localhost` makes the http_proxy's proxy_http
 * escaper use `localhost:<http_port>` (a second sluice) instead of its configured peer; the upstream's own task
 * log proves the request went through it. Unknown params get 400; no params use the configured peer.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { curl, startDaemon, startOrigin } from '@sluice/testkit';

describe('username params → next proxy', () => {
  it('overrides the proxy escaper peer per request', async () => {
    const origin = await startOrigin();
    const upstream = await startDaemon({
      files: {
        'main.yaml': `
log: stdout
resolver: [{name: dns, type: c-ares}]
escaper: [{name: direct, type: direct_fixed, resolver: dns, egress_net_filter: {default: allow, allow: 127.0.0.1}}]
server: [{name: up, type: http_proxy, listen: 127.0.0.1:0, escaper: direct}]
`,
      },
    });
    const upPort = await upstream.port('up');
    const front = await startDaemon({
      files: {
        'main.yaml': `
log: stdout
resolver: [{name: dns, type: c-ares}]
user_group:
  - name: users
    static_users: [{name: u, token: null}]
escaper:
  - name: chain
    type: proxy_http
    proxy_addr: 127.0.0.1:9          # nothing listens there: only the username params can make this work
    resolver: dns
server:
  - name: http
    type: http_proxy
    listen: 127.0.0.1:0
    escaper: chain
    user_group: users
    username_params:
      keys_for_host: [label1]
      http_port: ${upPort}
`,
      },
    });
    try {
      const port = await front.port('http');
      const ok = await curl(['-x', `http://127.0.0.1:${port}`, '-U', 'u+label1=localhost:pw', `${origin.url}/via-params`]);
      assert.equal(ok.status, 200, ok.stderr);
      assert.equal(ok.body, 'hello');
      const seen = await upstream.waitForTask((l) => l.fields.uri === `${origin.url}/via-params`);
      assert.equal(seen.fields.server_name, 'up');
      const log = await front.waitForTask((l) => l.fields.uri === `${origin.url}/via-params`);
      assert.equal(log.fields.user, 'u', 'the base name authenticates and is logged');

      const plain = await curl(['-x', `http://127.0.0.1:${port}`, '-U', 'u:pw', `${origin.url}/plain`]);
      assert.ok(plain.status >= 500, `without params the configured (dead) peer is used: ${plain.status}`);

      const bad = await curl(['-x', `http://127.0.0.1:${port}`, '-U', 'u+nope=1:pw', `${origin.url}/bad`]);
      assert.equal(bad.status, 400);
    } finally {
      await front.stop();
      await upstream.stop();
      await origin.close();
    }
  });
});
