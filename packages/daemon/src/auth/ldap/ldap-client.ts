/**
 * A minimal LDAP client for checking passwords: one connection, simple binds (RFC 4511 §4.2) and STARTTLS
 * (§4.14), one request at a time. The group pools these connections; a connection is reused for the next
 * user's bind (re-binding on a connection is allowed).
 */
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { children, integer, intValue, readElement, tlv } from './ber.js';

const STARTTLS_OID = Buffer.from('1.3.6.1.4.1.1466.20037', 'latin1');
const TAG_SEQUENCE = 0x30;
const TAG_INTEGER = 0x02;
const TAG_OCTETS = 0x04;
const APP_BIND_REQUEST = 0x60;
const APP_BIND_RESPONSE = 0x61;
const APP_UNBIND_REQUEST = 0x42;
const APP_EXTENDED_REQUEST = 0x77;
const APP_EXTENDED_RESPONSE = 0x78;
const CTX_SIMPLE_AUTH = 0x80;
const CTX_EXT_NAME = 0x80;

export const LDAP_SUCCESS = 0;
export const LDAP_INVALID_CREDENTIALS = 49;

export interface LdapConnectOptions {
  host: string;
  port: number;
  directTls: boolean;
  startTls: boolean;
  tls: ConnectionOptions;
  connectTimeoutMs: number;
  responseTimeoutMs: number;
  /** a response longer than this ends the connection (a bind response is a few dozen bytes) */
  maxMessageSize: number;
}

export class LdapConnection {
  private socket: Socket;
  private buf: Buffer = Buffer.alloc(0);
  private nextId = 1;
  private waiter: ((e: Error | null, tag?: number, code?: number) => void) | null = null;
  broken = false;

  private constructor(socket: Socket, private readonly opts: LdapConnectOptions) {
    this.socket = socket;
    this.attach(socket);
  }

  static async open(o: LdapConnectOptions): Promise<LdapConnection> {
    const socket = await connectSocket(o);
    const c = new LdapConnection(socket, o);
    if (o.startTls && !o.directTls) await c.upgrade();
    return c;
  }

  private attach(s: Socket): void {
    s.on('data', (d: Buffer) => this.onData(d));
    s.on('error', (e) => this.fail(e));
    s.on('close', () => this.fail(new Error('ldap connection closed')));
  }

  private fail(e: Error): void {
    this.broken = true;
    const w = this.waiter;
    this.waiter = null;
    w?.(e);
  }

  private onData(d: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    if (this.buf.length > this.opts.maxMessageSize) {
      this.fail(new Error(`ldap response larger than max_message_size (${this.opts.maxMessageSize} bytes)`));
      this.socket.destroy();
      return;
    }
    let msg;
    try {
      msg = readElement(this.buf, 0);
    } catch (e) {
      this.fail(e as Error);
      this.socket.destroy();
      return;
    }
    if (!msg) return;
    const bytes = this.buf;
    this.buf = this.buf.subarray(msg.end);
    try {
      // LDAPMessage ::= SEQUENCE { messageID, protocolOp, ... }; the op's first child is the resultCode
      const [, op] = children(bytes, msg);
      const [code] = children(bytes, op!);
      const w = this.waiter;
      this.waiter = null;
      w?.(null, op!.tag, intValue(bytes, code!));
    } catch (e) {
      this.fail(e as Error);
    }
  }

  private request(op: Buffer, expectTag: number): Promise<number> {
    if (this.broken) return Promise.reject(new Error('ldap connection is broken'));
    const id = this.nextId++;
    return new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.broken = true;
        this.waiter = null;
        this.socket.destroy();
        reject(new Error('ldap response timed out'));
      }, this.opts.responseTimeoutMs);
      this.waiter = (e, tag, code) => {
        clearTimeout(timer);
        if (e) return reject(e);
        if (tag !== expectTag) return reject(new Error(`unexpected ldap response tag 0x${tag!.toString(16)}`));
        resolve(code!);
      };
      this.socket.write(tlv(TAG_SEQUENCE, Buffer.concat([integer(TAG_INTEGER, id), op])));
    });
  }

  /** Simple bind; resolves to the LDAP result code (0 success, 49 invalid credentials). */
  bind(dn: string, password: Buffer): Promise<number> {
    const op = tlv(APP_BIND_REQUEST, Buffer.concat([integer(TAG_INTEGER, 3), tlv(TAG_OCTETS, Buffer.from(dn, 'utf8')), tlv(CTX_SIMPLE_AUTH, password)]));
    return this.request(op, APP_BIND_RESPONSE);
  }

  private async upgrade(): Promise<void> {
    const code = await this.request(tlv(APP_EXTENDED_REQUEST, tlv(CTX_EXT_NAME, STARTTLS_OID)), APP_EXTENDED_RESPONSE);
    if (code !== LDAP_SUCCESS) throw new Error(`ldap server refused STARTTLS (result ${code})`);
    const plain = this.socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('close');
    plain.removeAllListeners('error');
    this.socket = await new Promise<Socket>((resolve, reject) => {
      const s = tlsConnect({ ...this.opts.tls, socket: plain }, () => resolve(s));
      s.once('error', reject);
    });
    this.attach(this.socket);
  }

  close(): void {
    if (!this.broken && this.socket.writable) {
      this.socket.end(tlv(TAG_SEQUENCE, Buffer.concat([integer(TAG_INTEGER, this.nextId++), Buffer.from([APP_UNBIND_REQUEST, 0])])));
    }
    this.broken = true;
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }
}

function connectSocket(o: LdapConnectOptions): Promise<Socket> {
  return new Promise<Socket>((resolve, reject) => {
    const s: Socket = o.directTls
      ? tlsConnect({ ...o.tls, host: o.host, port: o.port }, () => done(null))
      : tcpConnect({ host: o.host, port: o.port }, () => done(null));
    const timer = setTimeout(() => done(new Error('ldap connect timed out')), o.connectTimeoutMs);
    let settled = false;
    function done(e: Error | null): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      s.removeListener('error', done);
      if (e) {
        s.destroy();
        reject(e);
      } else resolve(s);
    }
    s.once('error', done);
  });
}
