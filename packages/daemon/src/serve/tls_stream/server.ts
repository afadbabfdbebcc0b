/**
 * The `tls_stream` server (g3's TlsStream): terminates TLS from the client, then relays the clear stream to
 * one of a fixed list of upstreams (optionally over a new TLS connection). A socket handed over by a TLS port
 * in front (plain_tls_port, native_tls_port) is already clear.
 */
import type { Socket } from 'node:net';
import { SluiceError } from '@sluice/common';
import type { AliveWork } from '../base-server.js';
import { acceptTls } from '../ingress-prelude.js';
import { pickTarget } from '../tcp_stream/server.js';
import { StreamServer } from '../tcp_stream/stream-server.js';
import type { ClientInfo } from '../types.js';
import type { TlsStreamConfig } from './config.js';

export class TlsStreamServer extends StreamServer<TlsStreamConfig> {
  readonly logName = 'TlsStream';

  acceptSocket(socket: Socket, info: ClientInfo): void {
    this.stats.connTotal++;
    if (info.tls) {
      this.runStream(socket, info, this.newTask(info), pickTarget(this.config, info));
      return;
    }
    // until the handshake is done the connection holds nothing of value: closed at once when going offline
    const pending: AliveWork = { idle: true, abort: () => socket.destroy() };
    this.track(pending);
    const cfg = this.config;
    acceptTls(socket, cfg.tlsServer).then(
      (tls) => {
        this.untrack(pending);
        const tinfo = { ...info, tls: true };
        if (!this.online) {
          tls.destroy();
          return;
        }
        this.runStream(tls, tinfo, this.newTask(tinfo), pickTarget(this.config, tinfo));
      },
      (e: Error) => {
        this.untrack(pending);
        // a failed or timed-out handshake is one task that never got an upstream
        const closed = /client closed/.test(e.message);
        this.failEarly(this.newTask(info), socket, new SluiceError(closed ? 'CLIENT_CLOSED_EARLY' : 'CLIENT_PROTOCOL_INVALID', e.message.trim()));
      },
    );
  }
}
