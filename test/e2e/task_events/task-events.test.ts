/**
 * Task log records written while a task is alive (g3's task_event): Created, Connected, Periodic and the
 * shutdown records of a CONNECT tunnel and a SOCKS5 tunnel held open, Connected for an HTTP forward request,
 * and with the keys off only the Finished record. Key sets are checked against what g3 writes for each event
 * (g3proxy/src/log/task/tcp_connect.rs, http_forward.rs).
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import type { Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  baseConfig, connectTunnel, curl, readUntil, startDaemon, startEchoServer, startOrigin, tcpConnect,
  type DaemonHandle, type Origin, type ParsedLogLine,
} from '@sluice/testkit';

const EVENT_KEYS = `    flush_task_log_on_created: true
    flush_task_log_on_connected: true
    task_log_flush_interval: 300ms`;

const config = (echoPort: number, originPort: number) => `${baseConfig()}server:
  - name: http_on
    type: http_proxy
    listen: 127.0.0.1:0
    escaper: direct
${EVENT_KEYS}
  - name: socks_on
    type: socks_proxy
    listen: 127.0.0.1:0
    escaper: direct
${EVENT_KEYS}
  - name: http_connected
    type: http_proxy
    listen: 127.0.0.1:0
    escaper: direct
    flush_task_log_on_connected: true
  - name: http_off
    type: http_proxy
    listen: 127.0.0.1:0
    escaper: direct
  - name: socks_off
    type: socks_proxy
    listen: 127.0.0.1:0
    escaper: direct
  - name: socks_udp_on
    type: socks_proxy
    listen: 127.0.0.1:0
    escaper: direct
    use_udp_associate: true
${EVENT_KEYS}
  - name: stream_on
    type: tcp_stream
    listen: 127.0.0.1:0
    escaper: direct
    upstream: 127.0.0.1:${echoPort}
    flush_task_log_on_connected: true
    task_log_flush_interval: 300ms
  - name: gw_on
    type: http_rproxy
    listen: 127.0.0.1:0
    escaper: direct
    flush_task_log_on_created: true
    flush_task_log_on_connected: true
    hosts:
      - exact_match: origin.test
        upstream: 127.0.0.1:${originPort}
`;

const LOGGER = ['daemon_name', 'log_type', 'pid'];
const HEAD = [...LOGGER, 'server_type', 'server_name', 'task_type', 'task_id', 'task_event', 'stage', 'start_at'];
const TCP_ADDRS = ['server_addr', 'client_addr', 'upstream'];
const BYTES = ['c_rd_bytes', 'c_wr_bytes', 'r_rd_bytes', 'r_wr_bytes'];
/** durations and unset values are left out when zero / unknown, as on the finish record */
const MAYBE = ['user', 'wait_time', 'ready_time', 'next_bind_ip', 'next_bound_addr', 'next_peer_addr', 'next_expire', 'tcp_connect_spend'];

/** [required, may also appear] keys of each TcpConnect record, after g3's tcp_connect.rs */
const TCP_CONNECT: Record<string, [string[], string[]]> = {
  Created: [[...HEAD, ...TCP_ADDRS], ['user', 'wait_time']],
  Connected: [[...HEAD, ...TCP_ADDRS, 'escaper', 'tcp_connect_tries'], MAYBE],
  Periodic: [[...HEAD, ...TCP_ADDRS, 'escaper', 'tcp_connect_tries', 'total_time', ...BYTES], MAYBE],
  ClientShutdown: [[...HEAD, ...TCP_ADDRS, 'escaper', 'total_time', ...BYTES], ['user', 'wait_time', 'ready_time', 'next_bound_addr', 'next_peer_addr', 'next_expire']],
  Finished: [[...HEAD, ...TCP_ADDRS, 'escaper', 'tcp_connect_tries', 'reason', 'total_time', ...BYTES], MAYBE],
};

const HTTP_REQ = ['method', 'uri'];
const HTTP_FORWARD_CONNECTED: [string[], string[]] = [
  [...HEAD, ...TCP_ADDRS, 'escaper', 'tcp_connect_tries', 'reuse_connection', ...HTTP_REQ],
  [...MAYBE, 'pipeline_wait', 'user_agent'],
];

function assertKeys(r: ParsedLogLine, [required, optional]: [string[], string[]]): void {
  const keys = Object.keys(r.fields);
  const what = `${r.fields.task_type} ${r.fields.task_event}`;
  for (const k of required) assert.ok(keys.includes(k), `${what}: missing ${k}`);
  for (const k of keys) assert.ok(required.includes(k) || optional.includes(k), `${what}: unexpected key ${k}`);
}

const taskRecords = (d: DaemonHandle, id: string) => d.allTaskLogs().filter((r) => r.fields.task_id === id);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Keep a tunnel busy for `ms`: 100 bytes every 100ms, each echoed back, then close our side. */
async function holdOpen(s: Socket, ms: number): Promise<void> {
  let echoed = 0;
  s.on('data', (b: Buffer) => (echoed += b.length));
  const end = Date.now() + ms;
  let sent = 0;
  while (Date.now() < end) {
    s.write(Buffer.alloc(100, 0x61));
    sent += 100;
    await sleep(100);
  }
  const deadline = Date.now() + 3000;
  while (echoed < sent && Date.now() < deadline) await sleep(20);
  assert.equal(echoed, sent);
  s.end();
}

/** The records of one tunnel task in order, checked: same id, g3's key sets, Periodic counters growing. */
async function checkTunnel(d: DaemonHandle, server: string, created: boolean): Promise<void> {
  const fin = await d.waitForTask((r) => r.fields.server_name === server && r.fields.task_type === 'TcpConnect' && r.fields.task_event === 'Finished');
  const recs = taskRecords(d, fin.fields.task_id!);
  const events = recs.map((r) => r.fields.task_event!);
  assert.equal(events.at(-1), 'Finished', events.join(','));
  assert.equal(events.filter((e) => e === 'Finished').length, 1);
  if (created) assert.equal(events[0], 'Created', events.join(','));
  assert.equal(events[created ? 1 : 0], 'Connected', events.join(','));
  const periodic = recs.filter((r) => r.fields.task_event === 'Periodic');
  assert.ok(periodic.length >= 2, `${periodic.length} Periodic records: ${events.join(',')}`);
  // the client closed first while the echo server still had to close its side
  assert.ok(events.includes('ClientShutdown'), events.join(','));
  for (const r of recs) assertKeys(r, TCP_CONNECT[r.fields.task_event!]!);
  assert.equal(recs[0]!.fields.stage, created ? 'Created' : 'Connected');
  const rd = periodic.map((r) => Number(r.fields.c_rd_bytes));
  for (let i = 1; i < rd.length; i++) assert.ok(rd[i]! >= rd[i - 1]!, `c_rd_bytes ${rd.join(',')}`);
  assert.ok(rd.at(-1)! > rd[0]!, `c_rd_bytes grows: ${rd.join(',')}`);
  assert.ok(Number(fin.fields.c_rd_bytes) >= rd.at(-1)!);
}

describe('task log events', () => {
  let d: DaemonHandle;
  let origin: Origin;
  let echo: { port: number; close(): Promise<void> };
  let udpEcho: UdpSocket;
  let slow: Origin;
  let mainYaml: string;
  before(async () => {
    origin = await startOrigin();
    // a response body that takes ~1.2s: 1000 bytes every 100ms
    slow = await startOrigin((_req, res) => {
      res.writeHead(200, { 'content-length': 12_000 });
      let n = 0;
      const t = setInterval(() => {
        res.write(Buffer.alloc(1000, 0x62));
        if (++n === 12) {
          clearInterval(t);
          res.end();
        }
      }, 100);
      res.on('close', () => clearInterval(t));
    });
    echo = await startEchoServer();
    udpEcho = createSocket('udp4');
    udpEcho.on('message', (m, r) => udpEcho.send(m, r.port, r.address));
    await new Promise<void>((r) => udpEcho.bind(0, '127.0.0.1', r));
    mainYaml = config(echo.port, origin.port);
    d = await startDaemon({ files: { 'main.yaml': mainYaml } });
  });
  after(async () => {
    await d?.stop();
    await echo?.close();
    await origin?.close();
    await slow?.close();
    udpEcho?.close();
  });

  it('a CONNECT tunnel held open: Created, Connected, Periodic with growing counters, ClientShutdown, Finished', async () => {
    const { socket } = await connectTunnel(await d.port('http_on'), `127.0.0.1:${echo.port}`);
    await holdOpen(socket, 1100);
    await checkTunnel(d, 'http_on', true);
  });

  it('a SOCKS5 tunnel held open: the same records', async () => {
    const s = await tcpConnect(await d.port('socks_on'));
    s.write(Buffer.from([5, 1, 0]));
    assert.deepEqual([...(await readUntil(s, (b) => b.length >= 2))], [5, 0]);
    const req = Buffer.from([5, 1, 0, 1, 127, 0, 0, 1, 0, 0]);
    req.writeUInt16BE(echo.port, 8);
    s.write(req);
    const rep = await readUntil(s, (b) => b.length >= 10);
    assert.equal(rep[1], 0, 'SOCKS5 reply succeeded');
    s.removeAllListeners('data');
    await holdOpen(s, 1100);
    await checkTunnel(d, 'socks_on', true);
  });

  it('a tcp_stream task: Connected, Periodic and Finished', async () => {
    const s = await tcpConnect(await d.port('stream_on'));
    await holdOpen(s, 800);
    await checkTunnel(d, 'stream_on', false);
  });

  it('a SOCKS5 UDP associate: Created, Connected and Periodic records with g3\'s UdpAssociate keys', async () => {
    const ctl = await tcpConnect(await d.port('socks_udp_on'));
    ctl.write(Buffer.from([5, 1, 0]));
    await readUntil(ctl, (b) => b.length >= 2);
    ctl.write(Buffer.from([5, 3, 0, 1, 0, 0, 0, 0, 0, 0]));
    const rep = await readUntil(ctl, (b) => b.length >= 10);
    assert.equal(rep[1], 0);
    const relayPort = rep.readUInt16BE(8);
    const udp = createSocket('udp4');
    await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
    let answers = 0;
    udp.on('message', () => answers++);
    const hdr = Buffer.from([0, 0, 0, 1, 127, 0, 0, 1, 0, 0]);
    hdr.writeUInt16BE(udpEcho.address().port, 8);
    const end = Date.now() + 1100;
    let sent = 0;
    while (Date.now() < end) {
      udp.send(Buffer.concat([hdr, Buffer.from('ping')]), relayPort, '127.0.0.1');
      sent++;
      await sleep(100);
    }
    const deadline = Date.now() + 2000;
    while (answers < sent && Date.now() < deadline) await sleep(20);
    assert.equal(answers, sent);
    ctl.end();
    udp.close();
    const fin = await d.waitForTask((r) => r.fields.server_name === 'socks_udp_on' && r.fields.task_event === 'Finished');
    assert.equal(fin.fields.task_type, 'UdpAssociate');
    const recs = taskRecords(d, fin.fields.task_id!);
    const events = recs.map((r) => r.fields.task_event!);
    assert.deepEqual(events.slice(0, 2), ['Created', 'Connected'], events.join(','));
    const periodic = recs.filter((r) => r.fields.task_event === 'Periodic');
    assert.ok(periodic.length >= 2, events.join(','));
    const UDP_TCP = ['tcp_server_addr', 'tcp_client_addr'];
    const UDP_ADDRS = [...UDP_TCP, 'udp_listen_addr', 'udp_client_addr', 'initial_peer', 'escaper'];
    const PACKETS = ['c_rd_bytes', 'c_rd_packets', 'c_wr_bytes', 'c_wr_packets', 'r_rd_bytes', 'r_rd_packets', 'r_wr_bytes', 'r_wr_packets'];
    const timing = ['user', 'wait_time', 'ready_time'];
    assertKeys(recs[0]!, [[...HEAD, ...UDP_TCP], timing]);
    assertKeys(recs[1]!, [[...HEAD, ...UDP_ADDRS, 'c_rd_bytes', 'c_rd_packets'], timing]);
    for (const p of periodic) assertKeys(p, [[...HEAD, ...UDP_ADDRS, 'total_time', ...PACKETS], timing]);
    const pk = periodic.map((r) => Number(r.fields.c_rd_packets));
    assert.ok(pk.at(-1)! > pk[0]!, `c_rd_packets grows: ${pk.join(',')}`);
  });

  it('an HTTP forward request with flush_task_log_on_connected: Connected then Finished', async () => {
    const r = await curl(['-x', `http://127.0.0.1:${await d.port('http_connected')}`, '-A', 'events/1.0', `${origin.url}/hello`]);
    assert.equal(r.status, 200);
    const fin = await d.waitForTask((l) => l.fields.server_name === 'http_connected' && l.fields.task_event === 'Finished');
    const recs = taskRecords(d, fin.fields.task_id!);
    assert.deepEqual(recs.map((l) => l.fields.task_event), ['Connected', 'Finished']);
    assertKeys(recs[0]!, HTTP_FORWARD_CONNECTED);
    assert.equal(recs[0]!.fields.stage, 'Connected');
    assert.equal(recs[0]!.fields.method, 'GET');
    assert.equal(recs[0]!.fields.user_agent, 'events/1.0');
  });

  it('a slow HTTP forward response: Created, Connected, Periodic with growing c_wr_bytes, Finished', async () => {
    const r = await curl(['-s', '-o', '/dev/null', '-x', `http://127.0.0.1:${await d.port('http_on')}`, `${slow.url}/slow`]);
    assert.equal(r.status, 200);
    const fin = await d.waitForTask((l) => l.fields.server_name === 'http_on' && l.fields.task_type === 'HttpForward' && l.fields.task_event === 'Finished');
    const recs = taskRecords(d, fin.fields.task_id!);
    const events = recs.map((l) => l.fields.task_event!);
    assert.deepEqual(events.slice(0, 2), ['Created', 'Connected'], events.join(','));
    assert.equal(events.at(-1), 'Finished');
    const periodic = recs.filter((l) => l.fields.task_event === 'Periodic');
    assert.ok(periodic.length >= 2, events.join(','));
    assertKeys(recs[0]!, [[...HEAD, ...TCP_ADDRS, ...HTTP_REQ], ['user', 'wait_time', 'pipeline_wait', 'user_agent']]);
    for (const p of periodic) {
      assertKeys(p, [[...HEAD, ...TCP_ADDRS, 'escaper', 'tcp_connect_tries', 'reuse_connection', ...HTTP_REQ, 'rsp_status', 'origin_status', 'total_time', ...BYTES],
        [...MAYBE, 'pipeline_wait', 'user_agent', 'dur_req_send_hdr', 'dur_req_send_all', 'dur_rsp_recv_hdr', 'dur_rsp_recv_all']]);
      assert.equal(p.fields.rsp_status, '200');
    }
    const wr = periodic.map((l) => Number(l.fields.c_wr_bytes));
    assert.ok(wr.at(-1)! > wr[0]!, `c_wr_bytes grows: ${wr.join(',')}`);
  });

  it('http_rproxy: Created and Connected records of a forwarded request', async () => {
    const r = await curl(['-H', 'Host: origin.test', `http://127.0.0.1:${await d.port('gw_on')}/hello`]);
    assert.equal(r.status, 200);
    const fin = await d.waitForTask((l) => l.fields.server_name === 'gw_on' && l.fields.task_event === 'Finished');
    const recs = taskRecords(d, fin.fields.task_id!);
    assert.deepEqual(recs.map((l) => l.fields.task_event), ['Created', 'Connected', 'Finished']);
    assertKeys(recs[1]!, HTTP_FORWARD_CONNECTED);
  });

  it('with the keys off a task writes its Finished record, and a tunnel the side that closed first (as g3)', async () => {
    const r = await curl(['-x', `http://127.0.0.1:${await d.port('http_off')}`, `${origin.url}/hello`]);
    assert.equal(r.status, 200);
    const { socket } = await connectTunnel(await d.port('http_off'), `127.0.0.1:${echo.port}`);
    await holdOpen(socket, 400);
    const s = await tcpConnect(await d.port('socks_off'));
    s.write(Buffer.from([5, 1, 0]));
    await readUntil(s, (b) => b.length >= 2);
    const req = Buffer.from([5, 1, 0, 1, 127, 0, 0, 1, 0, 0]);
    req.writeUInt16BE(echo.port, 8);
    s.write(req);
    await readUntil(s, (b) => b.length >= 10);
    s.removeAllListeners('data');
    await holdOpen(s, 400);
    const offLogs = () => d.allTaskLogs().filter((l) => l.fields.server_name === 'socks_off' || l.fields.server_name === 'http_off');
    await d.waitForLog(() => offLogs().filter((l) => l.fields.task_event === 'Finished').length >= 3);
    await sleep(400);
    const off = offLogs();
    assert.deepEqual(off.filter((l) => l.fields.task_event === 'Finished').map((l) => l.fields.task_type), ['HttpForward', 'TcpConnect', 'TcpConnect']);
    // no Created / Connected / Periodic without the keys; the forward request writes nothing but its finish
    assert.ok(off.every((l) => ['Finished', 'ClientShutdown', 'UpstreamShutdown'].includes(String(l.fields.task_event))), JSON.stringify(off.map((l) => l.fields.task_event)));
    assert.ok(off.every((l) => l.fields.task_type === 'TcpConnect' || l.fields.task_event === 'Finished'));
    // each tunnel: the client closed first (holdOpen ends it), so one ClientShutdown under the tunnel's task id
    const tunnels = off.filter((l) => l.fields.task_type === 'TcpConnect' && l.fields.task_event === 'Finished');
    for (const t of tunnels) {
      const shut = off.filter((l) => l.fields.task_id === t.fields.task_id && l.fields.task_event !== 'Finished');
      assert.deepEqual(shut.map((l) => l.fields.task_event), ['ClientShutdown']);
    }
  });

  it('a reload that sets flush_task_log_on_connected takes effect on the running server', async () => {
    const off = '  - name: http_off\n    type: http_proxy\n    listen: 127.0.0.1:0\n    escaper: direct\n';
    assert.ok(mainYaml.includes(off));
    const port = await d.port('http_off');
    d.writeFile('main.yaml', mainYaml.replace(off, `${off}    flush_task_log_on_connected: true\n`));
    d.signal('SIGHUP');
    const connected = () => d.allTaskLogs().some((l) => l.fields.server_name === 'http_off' && l.fields.task_event === 'Connected');
    for (let i = 0; i < 50 && !connected(); i++) {
      const r = await curl(['-x', `http://127.0.0.1:${port}`, `${origin.url}/hello`]);
      assert.equal(r.status, 200);
      await sleep(100);
    }
    assert.ok(connected(), 'a Connected record after the reload');
    assert.equal(await d.port('http_off'), port, 'reloaded in place, not respawned');
  });
});
