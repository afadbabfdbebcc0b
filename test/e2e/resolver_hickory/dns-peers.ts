/**
 * Real DNS peers for the hickory resolver suite, on 127.0.0.1 and free ports:
 * - dnsmasq answering a `sluice.test` zone from a hosts file. Unlike testkit's startDnsmasq it runs without
 *   --no-daemon, so it forks per TCP connection: in debug mode dnsmasq serves a TCP connection inline and a
 *   client keeping one open (dnsdist does, for DoT) would stall its UDP side. `--local=/sluice.test/` makes
 *   unknown names NXDOMAIN and missing families NODATA instead of REFUSED (there is no upstream).
 * - Debian's dnsdist in front of it: plain DNS, DNS-over-TLS and DNS-over-HTTPS with a test certificate.
 * - a UDP socket that never answers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { connect, createServer, type AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Peer {
  close(): Promise<void>;
}

/** A port free for TCP and UDP alike on 127.0.0.1, at the time of asking. */
async function freePort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const tcp = createServer();
    await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
    const port = (tcp.address() as AddressInfo).port;
    const udp = createSocket('udp4');
    const ok = await new Promise<boolean>((r) => {
      udp.once('error', () => r(false));
      udp.bind(port, '127.0.0.1', () => r(true));
    });
    await new Promise<void>((r) => tcp.close(() => r()));
    await new Promise<void>((r) => udp.close(() => r()));
    if (ok) return port;
  }
  throw new Error('no port free for both TCP and UDP');
}

function stopProcess(proc: ChildProcess, dir?: string): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(hard);
      if (dir) rmSync(dir, { recursive: true, force: true });
      resolve();
    };
    if (proc.exitCode !== null || proc.signalCode !== null) return done();
    const hard = setTimeout(() => proc.kill('SIGKILL'), 3000);
    proc.once('exit', done);
    proc.kill('SIGTERM');
  });
}

/** Waits until `proc` has stayed up for `settleMs` (it exits at once on a bad config or a taken port). */
function staysUp(proc: ChildProcess, settleMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(true), settleMs);
    proc.once('exit', () => {
      clearTimeout(t);
      resolve(false);
    });
  });
}

async function tcpAccepts(port: number, deadline: number): Promise<boolean> {
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((r) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        r(true);
      });
      s.once('error', () => r(false));
    });
    if (ok) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

export interface ZoneServer extends Peer {
  port: number;
}

/** `records`: name → addresses (IPv4 and/or IPv6). */
export async function startZone(records: Record<string, string[]>): Promise<ZoneServer> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-hickory-zone-'));
  const hosts = join(dir, 'hosts');
  writeFileSync(hosts, Object.entries(records).flatMap(([name, ips]) => ips.map((ip) => `${ip} ${name}`)).join('\n') + '\n');
  let lastErr = '';
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const proc = spawn('dnsmasq', [
      '--keep-in-foreground', `--port=${port}`, '--listen-address=127.0.0.1', '--bind-interfaces',
      '--no-resolv', '--no-hosts', `--addn-hosts=${hosts}`, '--no-poll', '--conf-file=/dev/null', '--local=/sluice.test/',
      '--user=root', '--pid-file=', '--log-facility=-', '--local-ttl=60',
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    proc.stderr!.on('data', (d) => (stderr += d));
    if (await staysUp(proc, 300)) return { port, close: () => stopProcess(proc, dir) };
    lastErr = stderr;
  }
  rmSync(dir, { recursive: true, force: true });
  throw new Error(`dnsmasq did not start: ${lastErr}`);
}

export interface DnsdistServer extends Peer {
  plainPort: number;
  dotPort: number;
  dohPort: number;
}

/** dnsdist relaying to 127.0.0.1:`backendPort`; DoT and DoH present `certFile`/`keyFile`. */
export async function startDnsdist(backendPort: number, certFile: string, keyFile: string): Promise<DnsdistServer> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-hickory-dnsdist-'));
  let lastErr = '';
  for (let attempt = 0; attempt < 5; attempt++) {
    const [plainPort, dotPort, dohPort] = [await freePort(), await freePort(), await freePort()];
    const conf = join(dir, 'dnsdist.conf');
    writeFileSync(conf, [
      // no security-status lookups on the network
      "setSecurityPollSuffix('')",
      `setLocal('127.0.0.1:${plainPort}')`,
      `addTLSLocal('127.0.0.1:${dotPort}', '${certFile}', '${keyFile}')`,
      `addDOHLocal('127.0.0.1:${dohPort}', '${certFile}', '${keyFile}', '/dns-query')`,
      // the backend is not health-checked: dnsmasq has no answer for dnsdist's probe name
      `newServer({address='127.0.0.1:${backendPort}'}):setUp()`,
      '',
    ].join('\n'));
    const proc = spawn('dnsdist', ['--supervised', '--disable-syslog', '-C', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    proc.stdout!.on('data', (d) => (output += d));
    proc.stderr!.on('data', (d) => (output += d));
    const deadline = Date.now() + 5000;
    if (await staysUp(proc, 200) && await tcpAccepts(dotPort, deadline) && await tcpAccepts(dohPort, deadline)) {
      return { plainPort, dotPort, dohPort, close: () => stopProcess(proc, dir) };
    }
    lastErr = output;
    await stopProcess(proc);
  }
  rmSync(dir, { recursive: true, force: true });
  throw new Error(`dnsdist did not start: ${lastErr}`);
}

export interface SilentServer extends Peer {
  port: number;
  /** datagrams received (so a test can tell it was asked) */
  received: number;
}

/** A UDP "DNS server" that reads every query and never answers (port 0: any free port). */
export async function startSilentUdp(host = '127.0.0.1', port = 0): Promise<SilentServer> {
  const sock = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(port, host, () => resolve());
  });
  const s: SilentServer = {
    port: sock.address().port,
    received: 0,
    close: () => new Promise<void>((r) => sock.close(() => r())),
  };
  sock.on('message', () => s.received++);
  return s;
}
