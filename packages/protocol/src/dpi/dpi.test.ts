import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_DETECT_LIMITS as L, NO, defaultServerPortMap, detectBitTorrent, detectDnsTcpQuery, detectFtpGreeting, detectHttpRequest,
  detectImapGreeting, detectLdapRequest, detectMqttConnect, detectNatsInfo, detectNntpGreeting, detectPop3Greeting,
  detectRtmpHandshake, detectRtspSetup, detectSmppBind, detectSmtpGreeting, detectSsh, detectStompConnect,
  detectTlsClientHello, inspectClientData, inspectServerData, PortMap,
} from './index.js';

const b = (s: string) => Buffer.from(s, 'latin1');
const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** the start of a real TLS 1.2/1.3 ClientHello record (curl 8): record header, handshake header, client_version */
const CLIENT_HELLO = hex('16 0301 0200 01 0001fc 0303') ;

describe('detectors, real opening bytes', () => {
  it('TLS ClientHello: modern, legacy, split header across records, not a handshake', () => {
    assert.equal(detectTlsClientHello(Buffer.concat([CLIENT_HELLO, Buffer.alloc(32)]), L), 'tls_modern');
    assert.equal(detectTlsClientHello(hex('16 0301 0050 01 00004c 0301'), L), 'tls_legacy');
    assert.equal(detectTlsClientHello(hex('16 0300 0050 01 00004c 0300'), L), 'ssl_legacy');
    // the 6 header bytes split 2 + 4 over two records
    assert.equal(detectTlsClientHello(hex('16 0301 0002 0100 16 0301 0004 01fc0303'), L), 'tls_modern');
    assert.equal(detectTlsClientHello(hex('17 0303 0010'), L), NO);
    assert.equal(detectTlsClientHello(hex('16 03'), L), 3);
    assert.equal(detectTlsClientHello(hex('16 0303 0010 02 00000c 0303'), L), NO, 'ServerHello');
  });
  it('HTTP/1.x request lines and the HTTP/2 preface', () => {
    assert.equal(detectHttpRequest(b('GET /index.html HTTP/1.1\r\nHost: a\r\n\r\n'), L), 'http_1');
    assert.equal(detectHttpRequest(b('OPTIONS * HTTP/1.0\r\n'), L), 'http_1');
    assert.equal(detectHttpRequest(b('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), L), 'http_2');
    assert.equal(typeof detectHttpRequest(b('PRI * HTTP/2'), L), 'number');
    assert.equal(typeof detectHttpRequest(b('GET /a'), L), 'number');
    assert.equal(detectHttpRequest(b('GET / HTTP/2.0\r\n'), L), NO);
    assert.equal(detectHttpRequest(b('HELO example.org\r\n'), L), NO);
    assert.equal(detectHttpRequest(b('GET ' + 'a'.repeat(5000)), L), NO, 'URI over http_request_uri');
  });
  it('SSH version exchange (RFC 4253)', () => {
    assert.equal(detectSsh(b('SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n'), L), 'ssh');
    assert.equal(detectSsh(b('SSH-1.99-OpenSSH_3.9\n'), L), 'ssh');
    assert.equal(detectSsh(b('SSH-1.5-old\r\n'), L), 'ssh_legacy');
    assert.equal(detectSsh(b('SSH-2.0-OpenSSH_9'), L), 1);
    assert.equal(detectSsh(b('SSH-3.0-x\r\nabc'), L), NO);
    assert.equal(detectSsh(b('SSX'), L), NO);
  });
  it('server greetings: FTP, SMTP, POP3, IMAP, NNTP, NATS', () => {
    assert.equal(detectFtpGreeting(b('220 (vsFTPd 3.0.3)\r\n'), L), 'ftp_control');
    assert.equal(detectFtpGreeting(b('530 no\r\n'), L), NO);
    assert.equal(detectSmtpGreeting(b('220 mail.example.com ESMTP Postfix\r\n'), L), 'smtp');
    assert.equal(detectSmtpGreeting(b('220 [127.0.0.1] ESMTP\r\n'), L), 'smtp');
    assert.equal(detectSmtpGreeting(b('220 (vsFTPd 3.0.3)\r\n'), L), NO, 'an FTP greeting is no SMTP greeting');
    assert.equal(detectPop3Greeting(b('+OK Dovecot ready.\r\n'), L), 'pop3');
    assert.equal(detectImapGreeting(b('* OK [CAPABILITY IMAP4rev1 STARTTLS] Dovecot ready.\r\n'), L), 'imap');
    assert.equal(detectImapGreeting(b('* PREAUTH ready\r\n'), L), 'imap');
    assert.equal(detectImapGreeting(b('* NO x\r\n'), L), NO);
    assert.equal(detectNntpGreeting(b('200 news.example.com InterNetNews server INN 2.6 ready\r\n'), L), 'nntp');
    assert.equal(detectNatsInfo(b('INFO {"server_id":"x","version":"2.10.0"} \r\n'), L), 'nats');
  });
  it('binary client-first protocols: BitTorrent, DNS, LDAP, MQTT, SMPP, RTMP', () => {
    const bt = Buffer.concat([hex('13'), b('BitTorrent protocol'), Buffer.alloc(48)]);
    assert.equal(detectBitTorrent(bt, L), 'bittorrent');
    assert.equal(detectBitTorrent(bt.subarray(0, 30), L), 38);
    // dig +tcp example.com A: length 0x1c, id, flags 0x0120, qdcount 1, an/ns/ar 0
    assert.equal(detectDnsTcpQuery(hex('001c abcd 0120 0001 0000 0000 0000 076578616d706c6503636f6d0000010001'), L), 'dns');
    assert.equal(detectDnsTcpQuery(hex('001c abcd 8180 0001 0001 0000 0000'), L), NO, 'a response');
    // ldapsearch anonymous bind request: messageID 1, bindRequest v3
    assert.equal(detectLdapRequest(hex('300c 020101 6007 020103 0400 8000'), L), 'ldap');
    assert.equal(detectLdapRequest(hex('300c 020100 6007 020103 0400 8000'), L), NO, 'messageID 0');
    // mosquitto_pub CONNECT v3.1.1
    assert.equal(detectMqttConnect(hex('101800044d5154540402003c000c6d6f7371756974746f2d31'), L), 'mqtt');
    // SMPP bind_transceiver, body 7+ bytes
    assert.equal(detectSmppBind(hex('00000025 00000009 00000000 00000001 736d70706300 70617373 00 00 34 00 00 00'), L), 'smpp');
    assert.equal(detectRtmpHandshake(Buffer.concat([hex('03 00000000 00000000'), Buffer.alloc(1528)]), L), 'rtmp');
    assert.equal(detectRtmpHandshake(hex('03 00000000 01000000'), L), NO);
  });
  it('text client-first protocols: STOMP, RTSP', () => {
    assert.equal(detectStompConnect(b('CONNECT\naccept-version:1.2\nhost:a\n\n\0'), L), 'stomp');
    assert.equal(detectStompConnect(b('STOMP\r\naccept-version:1.2\r\nhost:stomp.example\r\n\r\n\0'), L), 'stomp');
    assert.equal(detectRtspSetup(b('SETUP rtsp://example.com/media.mp4/streamid=0 RTSP/1.0\r\n'), L), 'rtsp');
  });
});

describe('inspector', () => {
  const opts = (serverPort: number) => ({ serverPort, serverPortmap: defaultServerPortMap(), limits: L });
  it('client first: HTTP, TLS, SSH; unknown garbage; more data for a prefix', () => {
    assert.equal(inspectClientData(b('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), opts(12345)), 'http_1');
    assert.equal(inspectClientData(Buffer.concat([CLIENT_HELLO, Buffer.alloc(10)]), opts(443)), 'tls_modern');
    assert.equal(inspectClientData(b('SSH-2.0-client\r\n'), opts(12345)), 'ssh');
    assert.equal(inspectClientData(b('\x00\x01garbage garbage garbage'), opts(12345)), 'unknown');
    assert.equal(typeof inspectClientData(b('GE'), opts(12345)), 'number');
  });
  it('protocols only the port suggests: MQTT on 1883, DNS on 53; not elsewhere', () => {
    const mqtt = hex('101800044d5154540402003c000c6d6f7371756974746f2d31');
    assert.equal(inspectClientData(mqtt, opts(1883)), 'mqtt');
    assert.equal(inspectClientData(mqtt, opts(12345)), 'unknown');
  });
  it('server first: SSH by guess, SMTP only via the portmap (25/587) or a custom one', () => {
    assert.equal(inspectServerData(b('SSH-2.0-OpenSSH_9.2\r\n'), opts(2222)), 'ssh');
    assert.equal(inspectServerData(b('220 mx.example.org ESMTP\r\n'), opts(25)), 'smtp');
    assert.equal(inspectServerData(b('220 mx.example.org ESMTP\r\n'), opts(2525)), 'ftp_control', 'the FTP guess accepts a 220 line');
    const custom = new PortMap();
    assert.ok(custom.add(2525, 'smtp'));
    assert.equal(inspectServerData(b('220 mx.example.org ESMTP\r\n'), { serverPort: 2525, serverPortmap: custom, limits: L }), 'smtp');
    assert.equal(custom.add(1, 'gopher'), false);
  });
});
