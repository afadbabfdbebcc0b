/**
 * The redis user source across a fleet: two daemons share users kept in a real redis-server. A user
 * published on one node is accepted by the other within a second (pub/sub, not polling: the refresh
 * interval is a minute); a direct HSET is seen through keyspace notifications; with Redis down, nodes keep
 * their users and a restarted node starts from its cache file.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { baseConfig, curl, startDaemon, startOrigin, type DaemonHandle, type Origin } from '@sluice/testkit';
import { startRedis, type RedisServer } from './redis-server.js';

const FAST_TOOR = { salt: '113323bdab6fd2cc', md5: '5c81f2becadde7fa5fde9026652ccc84', sha1: 'ff9d5c1a14328dd85ee95d4e574bd0558a1dfa96' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function yaml(redisPort: number): string {
  return `
${baseConfig()}user_group:
  - name: fleet
    refresh_interval: 60s
    cache: fleet.cache.json
    source:
      type: redis
      url: redis://127.0.0.1:${redisPort}/0
      key: sluice:test:fleet
server:
  - name: http
    type: http_proxy
    listen: 127.0.0.1:0
    escaper: direct
    user_group: fleet
`;
}

describe('redis user source', () => {
  let redis: RedisServer;
  let origin: Origin;
  let a: DaemonHandle;
  let b: DaemonHandle;
  let c: DaemonHandle | undefined;

  const status = async (d: DaemonHandle, user: string) =>
    (await curl(['-x', `http://127.0.0.1:${await d.port('http')}`, '-U', user, `${origin.url}/hello`])).status;

  /** ms until `user` is accepted by `d` (polling every 25 ms), or Infinity after `limit` ms */
  async function acceptedWithin(d: DaemonHandle, user: string, limit: number): Promise<number> {
    const t0 = Date.now();
    while (Date.now() - t0 < limit) {
      if ((await status(d, user)) === 200) return Date.now() - t0;
      await sleep(25);
    }
    return Infinity;
  }

  before(async () => {
    redis = await startRedis();
    origin = await startOrigin();
    a = await startDaemon({ files: { 'main.yaml': yaml(redis.port) } });
    b = await startDaemon({ files: { 'main.yaml': yaml(redis.port) } });
    await a.port('http');
    await b.port('http');
  });
  after(async () => {
    if (a?.exitCode !== null || b?.exitCode !== null) console.error(`daemon exited early:\n${a?.stderr}\n${b?.stderr}`);
    await a?.stop();
    await b?.stop();
    await c?.stop();
    await redis?.stop();
    await origin?.close();
  });

  it('a user published on one node is accepted by the other within a second', async () => {
    assert.equal(await status(b, 'alice:toor'), 407);
    const t0 = Date.now();
    await a.call('user_group_publish_user', { name: 'fleet', contents: JSON.stringify([{ name: 'alice', token: FAST_TOOR }]) });
    const ms = await acceptedWithin(b, 'alice:toor', 1000);
    assert.ok(Date.now() - t0 < 1500 && ms < 1000, `took ${ms}ms`);
    assert.equal(await status(a, 'alice:toor'), 200);
    assert.deepEqual(await b.call('user_group_list_dynamic_user', { name: 'fleet' }), ['alice']);
    assert.equal(JSON.parse(await redis.cli(['HGET', 'sluice:test:fleet', 'alice'])).token.salt, FAST_TOOR.salt);
  });

  it('sees a user written straight into Redis (keyspace notifications)', async () => {
    await redis.cli(['CONFIG', 'SET', 'notify-keyspace-events', 'Kh']);
    await redis.cli(['HSET', 'sluice:test:fleet', 'bob', JSON.stringify({ token: null })]);
    assert.ok((await acceptedWithin(a, 'bob:any', 1000)) < 1000);
    assert.ok((await acceptedWithin(b, 'bob:any', 1000)) < 1000);
  });

  it('keeps users while Redis is down, and a new node starts from its cache file', async () => {
    const cache = readFileSync(join(b.dir, 'fleet.cache.json'), 'utf8');
    assert.ok(cache.includes('alice'));
    await redis.stop();
    await sleep(200);
    assert.equal(await status(a, 'alice:toor'), 200);
    assert.equal(await status(b, 'alice:toor'), 200);
    c = await startDaemon({ files: { 'main.yaml': yaml(redis.port), 'fleet.cache.json': cache } });
    assert.ok((await acceptedWithin(c, 'alice:toor', 2000)) < 2000);
    assert.equal(await status(c, 'alice:wrong'), 407);
    // publishing needs Redis: it fails and changes nothing
    await assert.rejects(a.call('user_group_publish_user', { name: 'fleet', contents: '[]' }));
    assert.equal(await status(a, 'alice:toor'), 200);
  });

  it('catches up after Redis comes back', async () => {
    redis = await startRedis(redis.port);
    await redis.cli(['HSET', 'sluice:test:fleet', 'carol', JSON.stringify({ token: null })]);
    await redis.cli(['PUBLISH', 'sluice:test:fleet:changed', 'x']);
    // reconnect backoff is at most 2s; the reconnect itself triggers a re-read
    assert.ok((await acceptedWithin(a, 'carol:x', 4000)) < 4000);
  });
});
