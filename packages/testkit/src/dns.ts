/**
 * A real DNS server for resolver tests: Debian's dnsmasq on 127.0.0.1 and a free UDP port, answering fixed
 * names from a hosts file and nothing else (no upstream, no system files).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { createServer, type AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface DnsServer {
  port: number;
  /** replace the records and make dnsmasq re-read them (SIGHUP) */
  update(records: Record<string, string[]>): Promise<void>;
  close(): Promise<void>;
}

/** A port free for both TCP and UDP on 127.0.0.1, at the time of asking (dnsmasq binds both). */
export async function freeTcpUdpPort(): Promise<number> {
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
    if (ok) {
      await new Promise<void>((r) => udp.close(() => r()));
      return port;
    }
    udp.close();
  }
  throw new Error('no port free for both TCP and UDP');
}

export interface DnsmasqOptions {
  /**
   * A domain dnsmasq is authoritative for (`--local=/zone/`): unknown names in it are NXDOMAIN and a missing
   * family NODATA, instead of REFUSED. Also runs dnsmasq forking per TCP connection (not in debug mode, where
   * it serves a TCP connection inline, so a client keeping one open — dnsdist for DoT — would stall UDP).
   */
  zone?: string;
}

/** `records`: name → IPv4/IPv6 addresses. */
export async function startDnsmasq(records: Record<string, string[]>, opts: DnsmasqOptions = {}): Promise<DnsServer> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-dns-'));
  const hostsText = (r: Record<string, string[]>) => Object.entries(r).flatMap(([name, ips]) => ips.map((ip) => `${ip} ${name}`)).join('\n') + '\n';
  writeFileSync(join(dir, 'hosts'), hostsText(records));
  let lastErr = '';
  for (let attempt = 0; attempt < 10; attempt++) {
    const port = await freeTcpUdpPort();
    const proc: ChildProcess = spawn('dnsmasq', [
      '--keep-in-foreground', ...(opts.zone ? [`--local=/${opts.zone}/`] : ['--no-daemon']), `--port=${port}`,
      '--listen-address=127.0.0.1', '--bind-interfaces',
      '--no-resolv', '--no-hosts', `--addn-hosts=${join(dir, 'hosts')}`, '--no-poll', '--conf-file=/dev/null',
      '--user=root', '--pid-file=', '--log-facility=-', '--local-ttl=60',
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    proc.stderr!.on('data', (d) => (stderr += d));
    const ok = await new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(true), 400);
      proc.once('exit', () => {
        clearTimeout(t);
        resolve(false);
      });
    });
    if (ok) {
      return {
        port,
        update: async (r) => {
          writeFileSync(join(dir, 'hosts'), hostsText(r));
          proc.kill('SIGHUP');
          await new Promise((res) => setTimeout(res, 200));
        },
        close: () => new Promise<void>((r) => {
          proc.once('exit', () => {
            rmSync(dir, { recursive: true, force: true });
            r();
          });
          proc.kill('SIGTERM');
        }),
      };
    }
    lastErr = stderr;
  }
  rmSync(dir, { recursive: true, force: true });
  throw new Error(`dnsmasq did not start: ${lastErr}`);
}
