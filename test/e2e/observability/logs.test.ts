/**
 * Task logs on every driver, captured from the real daemon: syslog (RFC 3164 over UDP, RFC 5424 and CEE over a
 * Unix socket), journald's native protocol on a Unix socket the test owns, fluentd's Forward protocol (shared
 * key and user auth, TLS, the retry queue while the receiver is down), and `log: stdout` records whose key
 * sets match the fields g3 writes for TcpConnect and HttpForward tasks.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { baseConfig, connectTunnel, curl, makePki, removePki, startDaemon, startEchoServer, startOrigin, type DaemonHandle, type Origin, type TestPki } from '@sluice/testkit';
import { udpCapture, unixCapture } from './capture.js';
import { ForwardReceiver } from './fluentd-receiver.js';

const config = (log: string) => `
${baseConfig({ log: `\n${log}` })}server:
  - name: http
    type: http_proxy
    listen: 127.0.0.1:0
    escaper: direct
`;

let origin: Origin;
before(async () => {
  origin = await startOrigin();
});
after(async () => {
  await origin?.close();
});

async function oneRequest(d: DaemonHandle, path = '/hello'): Promise<void> {
  const r = await curl(['-x', `http://127.0.0.1:${await d.port('http')}`, '-A', 'obs-test/1.0', `${origin.url}${path}`]);
  assert.equal(r.status, 200);
}

describe('syslog driver', () => {
  it('RFC 3164 over UDP: header, message, then key="value" / key=123 pairs', async () => {
    const cap = await udpCapture();
    const d = await startDaemon({ group: 'edge', files: { 'main.yaml': config(`  task:\n    syslog:\n      target_udp: 127.0.0.1:${cap.port}`) } });
    try {
      await oneRequest(d);
      await cap.waitFor((a) => a.length >= 1);
      const line = cap.datagrams[0]!.toString('utf8');
      // facility daemon (3) and notice (5): <29>; local time with a space-padded day; no hostname by default
      assert.match(line, /^<29>[A-Z][a-z]{2} [ 1-3]\d \d\d:\d\d:\d\d g3proxy\[\d+\]: , daemon_name="edge", log_type="Task", pid=\d+, /);
      assert.match(line, /, server_type="HttpProxy", server_name="http", task_type="HttpForward", task_id="[0-9a-f]{32}", task_event="Finished"/);
      assert.match(line, /, user_agent="obs-test\/1\.0"/);
      assert.match(line, /, rsp_status=200, origin_status=200/);
      assert.match(line, /, reuse_connection=false/);
      assert.match(line, /, total_time="[\d.]+(?:s|ms|µs|ns)"/);
      assert.match(line, /, r_wr_bytes=\d+$/);
    } finally {
      await d.stop();
      await cap.close();
    }
  });

  it('RFC 5424 over a Unix socket: structured data with the enterprise id and message id', async () => {
    const cap = unixCapture('syslog.sock');
    const d = await startDaemon({
      files: { 'main.yaml': config(`  task:\n    syslog:\n      target_unix: ${cap.path}\n      format_rfc5424: {enterprise_id: 32473, message_id: task}\n      emit_hostname: true\n      append_report_ts: true`) },
    });
    try {
      await oneRequest(d);
      await cap.waitFor((a) => a.length >= 1);
      const line = cap.datagrams[0]!.toString('utf8');
      assert.match(line, /^<29>1 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z \S+ g3proxy \d+ task \[g3proxy@32473 daemon_name="" log_type="Task" pid="\d+" /);
      // `]` in a value is escaped inside the SD element
      assert.match(line, / upstream="127\.0\.0\.1:\d+"/);
      assert.match(line, / report_ts="\d+"\] $/, 'report_ts last, then an empty message');
    } finally {
      await d.stop();
      await cap.close();
    }
  });

  it('CEE syntax: the event flag and one JSON object with msg', async () => {
    const cap = unixCapture('cee.sock');
    const d = await startDaemon({
      files: { 'main.yaml': config(`  task:\n    syslog:\n      target: {unix: {path: ${cap.path}}}\n      use_cee_log_syntax: true`) },
    });
    try {
      await oneRequest(d);
      await cap.waitFor((a) => a.length >= 1);
      const line = cap.datagrams[0]!.toString('utf8');
      const m = /^<29>[A-Z][a-z]{2} [ 1-3]\d \d\d:\d\d:\d\d g3proxy\[\d+\]: @cee:(\{.*\})$/.exec(line);
      assert.ok(m, line);
      const rec = JSON.parse(m[1]!) as Record<string, unknown>;
      assert.equal(rec.log_type, 'Task');
      assert.equal(rec.task_type, 'HttpForward');
      assert.equal(typeof rec.pid, 'number');
      assert.equal(rec.rsp_status, 200);
      assert.equal(rec.msg, '');
      assert.equal(Object.keys(rec).at(-1), 'msg');
    } finally {
      await d.stop();
      await cap.close();
    }
  });
});

/** Split a journald native datagram into fields (KEY=value lines and the KEY\n<u64 LE len><bytes>\n form). */
function parseJournal(b: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let i = 0;
  while (i < b.length) {
    const nl = b.indexOf(10, i);
    const line = b.subarray(i, nl).toString('utf8');
    const eq = line.indexOf('=');
    if (eq >= 0) {
      out.set(line.slice(0, eq), line.slice(eq + 1));
      i = nl + 1;
    } else {
      const len = Number(b.readBigUInt64LE(nl + 1));
      out.set(line, b.subarray(nl + 9, nl + 9 + len).toString('utf8'));
      assert.equal(b[nl + 9 + len], 10, 'binary field ends with a newline');
      i = nl + 10 + len;
    }
  }
  return out;
}

describe('journal driver', () => {
  it('sends one native-protocol datagram per record', async () => {
    const cap = unixCapture('journal.sock');
    const d = await startDaemon({ group: 'j1', files: { 'main.yaml': config(`  default: discard\n  task:\n    journal: {path: ${cap.path}}`) } });
    try {
      await oneRequest(d);
      await oneRequest(d, '/headers');
      await cap.waitFor((a) => a.length >= 2);
      const f = parseJournal(cap.datagrams[0]!);
      const keys = [...f.keys()];
      assert.deepEqual(keys.slice(0, 2), ['PRIORITY', 'SYSLOG_IDENTIFIER']);
      assert.equal(keys.at(-1), 'MESSAGE');
      assert.equal(f.get('PRIORITY'), '5');
      assert.equal(f.get('SYSLOG_IDENTIFIER'), 'g3proxy');
      assert.equal(f.get('DAEMON_NAME'), 'j1');
      assert.equal(f.get('LOG_TYPE'), 'Task');
      assert.equal(f.get('TASK_TYPE'), 'HttpForward');
      assert.equal(f.get('SERVER_NAME'), 'http');
      assert.equal(f.get('TASK_EVENT'), 'Finished');
      assert.match(f.get('TASK_ID')!, /^[0-9a-f]{32}$/);
      assert.equal(f.get('MESSAGE'), '');
      assert.ok(keys.every((k) => /^[A-Z][A-Z0-9_]*$/.test(k)));
    } finally {
      await d.stop();
      await cap.close();
    }
  });
});

describe('fluentd driver', () => {
  let pki: TestPki;
  before(() => {
    pki = makePki(['fluentd.test'], ['127.0.0.1']);
  });
  after(() => removePki(pki));

  it('does the shared-key handshake with user auth and sends [tag, EventTime, record] entries', async () => {
    const rx = await new ForwardReceiver({ sharedKey: 's3cret', users: { ops: 'pa55' }, hostname: 'collector' }).listen();
    const d = await startDaemon({
      files: {
        'main.yaml': config(`  task:\n    fluentd:\n      address: 127.0.0.1:${rx.port}\n      shared_key: s3cret\n      username: ops\n      password: pa55\n      hostname: sluice-test`),
      },
    });
    try {
      const before = Math.floor(Date.now() / 1000);
      await oneRequest(d);
      await oneRequest(d, '/headers');
      await rx.waitFor(2);
      assert.equal(rx.pings[0]![1], 'sluice-test');
      const e = rx.entries[0]!;
      assert.equal(e.tag, 'g3proxy.Task');
      assert.ok(e.sec >= before - 1 && e.sec <= before + 30, `EventTime seconds ${e.sec}`);
      assert.ok(e.nsec < 1e9);
      assert.equal(e.record.log_type, 'Task');
      assert.equal(e.record.task_type, 'HttpForward');
      assert.equal(e.record.rsp_status, 200, 'integers stay integers');
      assert.equal(e.record.msg, '');
      assert.equal(Object.keys(e.record).at(-1), 'msg');
      assert.deepEqual(rx.errors, []);
    } finally {
      await d.stop();
      await rx.close();
    }
  });

  it('speaks TLS to the receiver', async () => {
    const rx = await new ForwardReceiver({ sharedKey: 'k', tls: { key: pki.key, cert: pki.cert } }).listen();
    const d = await startDaemon({
      files: {
        'main.yaml': config(`  task:\n    fluentd:\n      address: 127.0.0.1:${rx.port}\n      shared_key: k\n      tls_client: {ca_certificate: ${pki.files.caCert}}\n      tls_name: fluentd.test`),
      },
    });
    try {
      await oneRequest(d);
      await rx.waitFor(1);
      assert.equal(rx.entries[0]!.tag, 'g3proxy.Task');
    } finally {
      await d.stop();
      await rx.close();
    }
  });

  it('keeps the newest retry_queue_len records while the receiver is down and sends them once it is up', async () => {
    // reserve a port, then free it so the first connects are refused
    const probe = await new ForwardReceiver().listen();
    const port = probe.port;
    await probe.close();
    const d = await startDaemon({
      files: { 'main.yaml': config(`  task:\n    fluentd:\n      address: 127.0.0.1:${port}\n      connect_delay: 300ms\n      retry_queue_len: 2`) },
    });
    let rx: ForwardReceiver | undefined;
    try {
      for (const p of ['/hello', '/headers', '/bytes?n=1', '/bytes?n=2']) await oneRequest(d, p);
      await new Promise((r) => setTimeout(r, 100));
      rx = await new ForwardReceiver().listen(port);
      await rx.waitFor(2, 8000);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(rx.entries.length, 2, 'only retry_queue_len records survive');
      assert.deepEqual(rx.entries.map((e) => e.record.uri), [`${origin.url}/bytes?n=1`, `${origin.url}/bytes?n=2`]);
      await oneRequest(d, '/after');
      await rx.waitFor(3);
    } finally {
      await d.stop();
      await rx?.close();
    }
  });
});

/** g3's finish-record fields (g3proxy/src/log/task/*.rs, plus the logger's common and server values). */
const COMMON_REQUIRED = ['daemon_name', 'log_type', 'pid', 'server_type', 'server_name', 'task_type', 'task_id', 'task_event', 'stage', 'start_at', 'server_addr', 'client_addr', 'upstream', 'escaper', 'reason', 'tcp_connect_tries', 'total_time', 'c_rd_bytes', 'c_wr_bytes', 'r_rd_bytes', 'r_wr_bytes'];
const TCP_CONNECT_OPTIONAL = ['user', 'next_bind_ip', 'next_bound_addr', 'next_peer_addr', 'next_expire', 'tcp_connect_spend', 'wait_time', 'ready_time'];
const HTTP_FORWARD_REQUIRED = [...COMMON_REQUIRED, 'reuse_connection', 'method', 'uri', 'rsp_status', 'origin_status'];
const HTTP_FORWARD_OPTIONAL = [...TCP_CONNECT_OPTIONAL, 'pipeline_wait', 'user_agent', 'dur_req_send_hdr', 'dur_req_send_all', 'dur_rsp_recv_hdr', 'dur_rsp_recv_all'];

function assertKeySet(fields: Record<string, string>, required: string[], optional: string[]): void {
  const keys = Object.keys(fields);
  for (const k of required) assert.ok(keys.includes(k), `missing ${k}`);
  for (const k of keys) assert.ok(required.includes(k) || optional.includes(k), `unexpected key ${k}`);
}

describe('stdout driver with a g3-like config', () => {
  let d: DaemonHandle;
  let echo: { port: number; close(): Promise<void> };
  before(async () => {
    echo = await startEchoServer();
    d = await startDaemon({ files: { 'main.yaml': config('  stdout') } });
  });
  after(async () => {
    await d?.stop();
    await echo?.close();
  });

  it('writes g3\'s HttpForward fields, message first and keys sorted', async () => {
    await oneRequest(d);
    const r = await d.waitForLog((l) => l.fields.task_type === 'HttpForward');
    assertKeySet(r.fields, HTTP_FORWARD_REQUIRED, HTTP_FORWARD_OPTIONAL);
    assert.equal(r.level, 'INFO');
    assert.equal(r.msg, '');
    assert.equal(r.fields.task_event, 'Finished');
    assert.equal(r.fields.tcp_connect_tries, '1');
    assert.match(r.fields.total_time!, /^\d+\.\d{3}(s|ms|µs)$|^\d+ns$/);
    const line = d.stdoutLines.find((l) => l.includes(r.fields.task_id!))!;
    assert.match(line, /^[A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d\.\d{3} INFO , c_rd_bytes: /, 'empty message, then the first sorted key');
    const keys = [...line.matchAll(/, ([a-z_]+): /g)].map((m) => m[1]!);
    assert.deepEqual(keys, [...keys].sort());
  });

  it('writes g3\'s TcpConnect fields for a CONNECT tunnel, with the error text as the message', async () => {
    const { socket, head } = await connectTunnel(await d.port('http'), `127.0.0.1:${echo.port}`);
    assert.match(head, /^HTTP\/1\.1 200/);
    socket.end();
    const r = await d.waitForLog((l) => l.fields.task_type === 'TcpConnect');
    assertKeySet(r.fields, COMMON_REQUIRED, TCP_CONNECT_OPTIONAL);
    assert.equal(r.fields.upstream, `127.0.0.1:${echo.port}`);
    // a refused CONNECT: the reason and the message carry the failure
    await assert.rejects(connectTunnel(await d.port('http'), '127.0.0.2:9'), (e: Error & { status?: number }) => (e.status ?? 0) >= 400);
    const bad = await d.waitForLog((l) => l.fields.task_type === 'TcpConnect' && l.fields.upstream === '127.0.0.2:9');
    assertKeySet(bad.fields, COMMON_REQUIRED, TCP_CONNECT_OPTIONAL);
    assert.notEqual(bad.fields.reason, 'Finished');
    assert.ok(bad.msg.length > 0, 'the error text is the message');
  });
});
