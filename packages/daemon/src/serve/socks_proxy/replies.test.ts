/** Escaper failures → SOCKS5 / SOCKS4 replies and task log reasons (g3's X'09' for a connect timeout). */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SluiceError, type ErrorCode } from '@sluice/common';
import { CMD_CONNECT, encodeSocks4Request, encodeSocks5Request } from '@sluice/protocol';
import type { Escaper } from '../../escape/types.js';
import type { Upstream } from '../../task/task.js';
import { startHarness, talk, type Harness } from './test-support.js';

const B = (...b: number[]) => Buffer.from(b);

/** The escaper fails with the error code named by the destination port's position in this list. */
const CODES: ErrorCode[] = ['UPSTREAM_CONNECT_TIMEOUT', 'UPSTREAM_CONNECT_REFUSED', 'RESOLVE_FAILED', 'UPSTREAM_UNREACHABLE', 'FORBIDDEN_EGRESS_IP', 'UPSTREAM_CONNECT_FAILED'];

describe('socks_proxy failure replies', () => {
  let h: Harness;
  before(async () => {
    const escaper: Partial<Escaper> = {
      name: 'fake',
      tcpConnect: (_t, u: Upstream) => Promise.reject(new SluiceError(CODES[u.port - 1000]!, 'test failure')),
    };
    h = await startHarness(escaper, { dst_host_filter_set: { exact_match: { default: 'allow', forbid: 'blocked.test' } } });
  });
  after(() => h.close());

  const cases: Array<[ErrorCode, number, string]> = [
    ['UPSTREAM_CONNECT_TIMEOUT', 0x09, 'UpstreamNotConnected'],
    ['UPSTREAM_CONNECT_REFUSED', 0x05, 'UpstreamNotConnected'],
    ['RESOLVE_FAILED', 0x04, 'UpstreamNotResolved'],
    ['UPSTREAM_UNREACHABLE', 0x03, 'UpstreamNotConnected'],
    ['FORBIDDEN_EGRESS_IP', 0x02, 'ForbiddenByRule'],
    ['UPSTREAM_CONNECT_FAILED', 0x01, 'UpstreamNotConnected'],
  ];
  for (const [code, rep, reason] of cases) {
    it(`${code} → SOCKS5 X'${rep.toString(16).padStart(2, '0')}', reason ${reason}`, async () => {
      const port = 1000 + CODES.indexOf(code);
      const r = await talk(h.port, [B(5, 1, 0), encodeSocks5Request(CMD_CONNECT, 'origin.test', port)], [2, 10, 0]);
      assert.deepEqual(r.data, Buffer.concat([B(5, 0), B(5, rep, 0, 1, 0, 0, 0, 0, 0, 0)]));
      assert.equal(r.closed, true);
      const log = h.logs.at(-1)!;
      assert.equal(log.get('reason'), reason);
      assert.equal(log.get('upstream'), `origin.test:${port}`);
    });
  }

  it('SOCKS4a gets X\'5B\' for any failure', async () => {
    const r = await talk(h.port, [encodeSocks4Request(CMD_CONNECT, 'origin.test', 1000)], [8, 0]);
    assert.deepEqual(r.data, B(0, 0x5b, 0, 0, 0, 0, 0, 0));
    assert.equal(r.closed, true);
  });

  it('dst_host_filter_set refuses with X\'02\' before the escaper is asked', async () => {
    const r = await talk(h.port, [B(5, 1, 0), encodeSocks5Request(CMD_CONNECT, 'blocked.test', 1000)], [2, 10, 0]);
    assert.deepEqual(r.data.subarray(2, 4), B(5, 2));
    assert.equal(h.logs.at(-1)!.get('reason'), 'ForbiddenByRule');
    assert.equal(h.server.stats.forbiddenDestDenied, 1);
  });
});
