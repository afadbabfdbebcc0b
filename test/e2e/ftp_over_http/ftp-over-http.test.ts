/**
 * FTP over HTTP through the http_proxy server against a real vsftpd on loopback: listing, upload and download of
 * a large file (checksummed), delete and delete-again (404), a missing file, bad credentials (401), credentials
 * from Authorization, an unreachable FTP server, and the FtpOverHttp task log.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { Agent, request, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { curl, scenarioDir, startDaemon, type DaemonHandle } from '@sluice/testkit';
import { startVsftpd, type Vsftpd } from './vsftpd.js';

const here = scenarioDir(import.meta.url);
const yaml = readFileSync(join(here, 'sluice.yaml'), 'utf8');

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function viaProxy(proxyPort: number, url: string, opts: { method?: string; body?: Buffer; agent?: Agent; headers?: Record<string, string> } = {}): Promise<{ res: IncomingMessage; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = request({
      host: '127.0.0.1', port: proxyPort, method: opts.method ?? 'GET', path: url, agent: opts.agent ?? false,
      headers: { host: u.host, ...(opts.headers ?? {}) }, timeout: 20_000,
    }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ res, body: Buffer.concat(parts) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(opts.body);
  });
}

// vsftpd chroots into the anonymous root, which needs root privileges (CI runs as root)
const canRunVsftpd = process.getuid?.() === 0;

describe('ftp over http', { skip: canRunVsftpd ? false : 'vsftpd needs root to chroot' }, () => {
  let d: DaemonHandle;
  let ftp: Vsftpd;
  let port: number;
  let base: string;
  const big = randomBytes(3 * 1024 * 1024 + 17);

  before(async () => {
    ftp = await startVsftpd();
    d = await startDaemon({ files: { 'main.yaml': yaml } });
    port = await d.port('http');
    base = `ftp://127.0.0.1:${ftp.port}`;
  });
  after(async () => {
    await d?.stop();
    await ftp?.stop();
  });

  it('lists the root directory as text', async () => {
    const r = await curl(['-x', `http://127.0.0.1:${port}`, `${base}/`]);
    assert.equal(r.status, 200);
    assert.match(r.body, /pub/);
    const log = await d.waitForLog((l) => l.fields.task_type === 'FtpOverHttp' && l.fields.uri === `${base}/`);
    assert.equal(log.fields.server_type, 'HttpProxy');
    assert.equal(log.fields.reason, 'Finished');
    assert.equal(log.fields.method, 'GET');
    assert.equal(log.fields.rsp_status, '200');
    assert.equal(log.fields.escaper, 'direct');
    assert.equal(log.fields.upstream, `127.0.0.1:${ftp.port}`);
    assert.equal(log.fields.ftp_c_peer_addr, `127.0.0.1:${ftp.port}`);
    assert.match(log.fields.ftp_d_peer_addr!, /^127\.0\.0\.1:\d+$/);
    assert.ok(Number(log.fields.ftp_c_rd_bytes) > 0 && Number(log.fields.ftp_c_wr_bytes) > 0);
    assert.ok(Number(log.fields.ftp_d_rd_bytes) > 0);
    assert.equal(log.fields.r_rd_bytes, undefined);
  });

  it('answers a missing file with an empty listing, as g3 does', async () => {
    const r = await viaProxy(port, `${base}/pub/nothing-here`);
    assert.equal(r.res.statusCode, 200);
    assert.equal(r.body.length, 0);
  });

  it('uploads a large file with PUT and downloads it intact', async () => {
    const up = await viaProxy(port, `${base}/pub/big.bin`, { method: 'PUT', body: big, headers: { 'content-type': 'application/octet-stream' } });
    assert.equal(up.res.statusCode, 200);
    assert.equal(sha(readFileSync(join(ftp.root, 'pub', 'big.bin'))), sha(big));
    const down = await viaProxy(port, `${base}/pub/big.bin`);
    assert.equal(down.res.statusCode, 200);
    assert.equal(down.res.headers['content-length'], String(big.length));
    assert.equal(sha(down.body), sha(big));
    const log = await d.waitForLog((l) => l.fields.task_type === 'FtpOverHttp' && l.fields.method === 'GET' && l.fields.uri === `${base}/pub/big.bin`);
    assert.equal(log.fields.ftp_d_rd_bytes, String(big.length));
    const putLog = await d.waitForLog((l) => l.fields.task_type === 'FtpOverHttp' && l.fields.method === 'PUT');
    assert.equal(putLog.fields.ftp_d_wr_bytes, String(big.length));
    assert.equal(putLog.fields.reason, 'Finished');
  });

  it('uploads with curl -T and lists the directory', async () => {
    const file = join(ftp.root, '..', 'small.txt');
    writeFileSync(file, 'small file\n');
    const r = await curl(['-x', `http://127.0.0.1:${port}`, '-T', file, `${base}/pub/small.txt`], 15_000);
    assert.equal(r.status, 200);
    assert.equal(readFileSync(join(ftp.root, 'pub', 'small.txt'), 'utf8'), 'small file\n');
    const list = await viaProxy(port, `${base}/pub/`);
    assert.equal(list.res.statusCode, 200);
    assert.match(list.res.headers['content-type']!, /^text\/plain/);
    assert.match(list.body.toString(), /big\.bin/);
  });

  it('deletes a file (200), then 404 when it is gone', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await viaProxy(port, `${base}/pub/big.bin`, { method: 'DELETE', agent });
      assert.equal(first.res.statusCode, 200);
      const again = await viaProxy(port, `${base}/pub/big.bin`, { method: 'DELETE', agent });
      assert.equal(again.res.statusCode, 404);
      const log = await d.waitForLog((l) => l.fields.task_type === 'FtpOverHttp' && l.fields.method === 'DELETE' && l.fields.rsp_status === '404');
      assert.equal(log.fields.reason, 'Finished');
    } finally {
      agent.destroy();
    }
  });

  it('takes credentials from Authorization: Basic', async () => {
    const r = await viaProxy(port, `${base}/`, { headers: { authorization: `Basic ${Buffer.from('anonymous:guest@').toString('base64')}` } });
    assert.equal(r.res.statusCode, 200, d.stdoutLines.slice(-3).join('\n'));
  });

  it('answers 401 with a Basic challenge when the login fails', async () => {
    const r = await viaProxy(port, `ftp://bob:secret@127.0.0.1:${ftp.port}/`);
    assert.equal(r.res.statusCode, 401);
    assert.equal(r.res.headers['www-authenticate'], `Basic realm="ftp://bob@127.0.0.1:${ftp.port}"`);
    const log = await d.waitForLog((l) => l.fields.task_type === 'FtpOverHttp' && l.fields.rsp_status === '401');
    assert.equal(log.fields.reason, 'UpstreamNotNegotiated');
    assert.equal(log.fields.uri, `ftp://bob:xyz@127.0.0.1:${ftp.port}/`);
  });

  it('answers the escaper status for an unreachable FTP server and keeps serving', async () => {
    const r = await viaProxy(port, 'ftp://127.0.0.1:1/');
    assert.equal(r.res.statusCode, 521);
    const log = await d.waitForLog((l) => l.fields.task_type === 'FtpOverHttp' && l.fields.upstream === '127.0.0.1:1');
    assert.equal(log.fields.reason, 'UpstreamNotConnected');
    const ok = await viaProxy(port, `${base}/`);
    assert.equal(ok.res.statusCode, 200);
  });

  it('refuses unsupported methods and bodies where FTP has none', async () => {
    const post = await viaProxy(port, `${base}/pub/x`, { method: 'POST', body: Buffer.from('x') });
    assert.equal(post.res.statusCode, 501);
    const getBody = await viaProxy(port, `${base}/pub/x`, { method: 'GET', body: Buffer.from('x'), headers: { 'content-length': '1' } });
    assert.equal(getBody.res.statusCode, 400);
    const crlf = await viaProxy(port, `${base}/pub/a%0d%0aDELE%20b`);
    assert.equal(crlf.res.statusCode, 400);
  });
});
