/** Client-facing UDP helpers: binding the relay socket, the advertised address, and the per-task speed budget. */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { SluiceError, type UdpSpeedLimit } from '@sluice/common';
import type { SocksProxyConfig } from './config.js';

/** Ports tried at random within udp_bind_port_range before giving up. */
const PORT_TRIES = 16;

function tryBind(s: UdpSocket, ip: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const onErr = () => resolve(false);
    s.once('error', onErr);
    s.bind({ address: ip, port, exclusive: true }, () => {
      s.off('error', onErr);
      resolve(true);
    });
  });
}

/**
 * A UDP socket for the client on the address the TCP connection came in on (or one of udp_bind_ipv4/6), on a
 * free port of udp_bind_port_range when set.
 */
export async function bindClientUdp(cfg: SocksProxyConfig, tcpServerIp: string): Promise<UdpSocket> {
  const v6 = tcpServerIp.includes(':');
  const list = v6 ? cfg.udpBind6 : cfg.udpBind4;
  const ip = list.length > 0 ? list[Math.floor(Math.random() * list.length)]! : tcpServerIp;
  const r = cfg.udpPortRange;
  const tries = r ? Math.min(PORT_TRIES, r.end - r.start + 1) : 1;
  for (let i = 0; i < tries; i++) {
    const s = createSocket({ type: v6 ? 'udp6' : 'udp4', recvBufferSize: cfg.udpRecvBuffer, sendBufferSize: cfg.udpSendBuffer });
    const port = r ? r.start + Math.floor(Math.random() * (r.end - r.start + 1)) : 0;
    if (await tryBind(s, ip, port)) {
      if (cfg.udpTtl !== undefined) {
        try {
          s.setTTL(cfg.udpTtl);
        } catch {
          // an out-of-range TTL for this family: keep the system default
        }
      }
      return s;
    }
    s.close();
  }
  throw new SluiceError('INTERNAL', `no free UDP port on ${ip}${r ? ` in ${r.start}-${r.end}` : ''}`);
}

/** The address written in the UDP ASSOCIATE reply (transmute_udp_echo_ip). */
export function advertisedUdpIp(cfg: SocksProxyConfig, localIp: string): string {
  const map = cfg.transmuteUdpEchoIp;
  if (!map) return localIp;
  return map.get(localIp) ?? (localIp.includes(':') ? '::' : '0.0.0.0');
}

/** Bytes and packets allowed per slice of 2^shift ms, one direction; over-budget datagrams are dropped. */
export class UdpBudget {
  private readonly sliceMs: number;
  private sliceEnd = 0;
  private bytes = 0;
  private packets = 0;
  constructor(limit: UdpSpeedLimit, private readonly maxBytes: number, private readonly maxPackets: number) {
    this.sliceMs = 1 << limit.shiftMillis;
  }
  allow(n: number): boolean {
    const now = performance.now();
    if (now >= this.sliceEnd) {
      this.sliceEnd = now + this.sliceMs;
      this.bytes = 0;
      this.packets = 0;
    }
    if (this.maxBytes > 0 && this.bytes + n > this.maxBytes) return false;
    if (this.maxPackets > 0 && this.packets + 1 > this.maxPackets) return false;
    this.bytes += n;
    this.packets++;
    return true;
  }
}
