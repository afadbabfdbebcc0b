/**
 * Real DNS peers for the hickory resolver suite, on 127.0.0.1 and free ports (the dnsmasq zone behind them is
 * testkit's startDnsmasq with a `zone`):
 * - Debian's dnsdist in front of it: plain DNS, DNS-over-TLS and DNS-over-HTTPS with a test certificate.
 * - a UDP socket that never answers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { freeTcpUdpPort } from '@sluice/testkit';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Peer {
  close(): Promise<void>;
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
    const [plainPort, dotPort, dohPort] = [await freeTcpUdpPort(), await freeTcpUdpPort(), await freeTcpUdpPort()];
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
