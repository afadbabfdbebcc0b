/** The auditor's config: g3's defaults and aliases, value checks, and refusal of what sluice cannot do. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '@sluice/config';
import { parseConfig } from '../../runtime/config-model.js';
import { parseUserAudit, DEFAULT_USER_AUDIT } from '../../auth/user-audit.js';
import { parseInspectPolicy } from '../inspect-policy.js';
import type { AuditorConfig } from './config.js';

const dir = mkdtempSync(join(tmpdir(), 'sluice-auditor-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
async function auditor(yaml: string): Promise<AuditorConfig> {
  const file = join(dir, `a${n++}.yaml`);
  writeFileSync(file, `auditor:\n  - name: a\n${yaml.replace(/^/gm, '    ')}\n`);
  const parsed = parseConfig(await loadConfig(file));
  return parsed.objects.auditor[0]!.cfg as AuditorConfig;
}
async function failure(yaml: string): Promise<string> {
  try {
    await auditor(yaml);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('config was accepted');
}

describe('auditor config', () => {
  it('has g3\'s defaults', async () => {
    const a = await auditor('protocol_inspection: {}');
    assert.equal(a.type, 'auditor');
    assert.deepEqual(
      { ...a.inspection, limits: undefined },
      { maxDepth: 4, data0BufferSize: 4096, data0WaitTimeoutMs: 60_000, data0ReadTimeoutMs: 4000, limits: undefined },
    );
    assert.equal(a.inspection.limits.httpRequestUri, 4096);
    assert.equal(a.logUriMaxChars, 1024);
    assert.equal(a.taskAuditRatio, 1);
    assert.equal(a.h1.pipelineSize, 10);
    assert.equal(a.h1.rspHeadTimeoutMs, 60_000);
    assert.equal(a.h1.bodyLineMaxLength, 8192);
    assert.equal(a.h1.stealForwardedFor, false);
    assert.equal(a.h2Policy.actionFor('example.com'), 'intercept');
    assert.deepEqual(a.serverPortmap.get(443), { checkSsl: true, protocols: ['http'] });
  });

  it('reads every key, with g3 spellings and aliases', async () => {
    const a = await auditor([
      'protocol_inspection: { inspect-max-depth: 2, data0_buffer_size: 8KiB, data0_wait_timeout: 5s, data0_read_timeout: 1s, data0_size_limit: { http_request_uri: 1KiB, ldap_request_msg: 2048 } }',
      'server_tcp_portmap: { 2525: smtp, 8443: [https, imap] }',
      'client_tcp_portmap: [ { port: 7000, protocol: bittorrent } ]',
      'log_uri_max_chars: 64',
      'h1_interception: { pipeline_size: 3, req_header_max_size: 1KiB, steal_forwarded_for: true }',
      'h2_interception: { max_header_list_size: 64KiB, ping_interval: 30s }',
      'websocket_inspect_policy: bypass',
      'smtp_inspect_policy: block',
      'imap_inspect_policy: { default: bypass }',
      'application_audit_ratio: 1/4',
      'tls_ticketer: {}',
    ].join('\n'));
    assert.equal(a.inspection.maxDepth, 2);
    assert.equal(a.inspection.data0BufferSize, 8192);
    assert.equal(a.inspection.limits.httpRequestUri, 1024);
    assert.equal(a.inspection.limits.ldapRequestMsg, 2048);
    assert.deepEqual(a.serverPortmap.get(2525)?.protocols, ['smtp']);
    assert.deepEqual(a.serverPortmap.get(8443), { checkSsl: true, protocols: ['http', 'imap'] });
    assert.deepEqual(a.clientPortmap.get(7000)?.protocols, ['bittorrent']);
    assert.equal(a.logUriMaxChars, 64);
    assert.equal(a.h1.pipelineSize, 3);
    assert.equal(a.h1.reqHeadMaxSize, 1024);
    assert.equal(a.websocketPolicy.actionFor('x'), 'bypass');
    assert.equal(a.smtpPolicy.actionFor('x'), 'block');
    assert.equal(a.taskAuditRatio, 0.25);
  });

  it('refuses, with the key path, what sluice does not do', async () => {
    assert.match(await failure('icap_reqmod_service: icap://127.0.0.1:1344/echo'), /\/icap_reqmod_service: ICAP is not implemented/);
    assert.match(await failure('icap_respmod_service: { url: icap://127.0.0.1:1344/echo }'), /icap_respmod_service/);
    assert.match(await failure('stream_detour_service: { peer: 127.0.0.1:2888 }'), /stream detour is not implemented/);
    assert.match(await failure('tls_stream_dump: { peer: 127.0.0.1:5555, packet_size: 10 }'), /tls_stream_dump\/packet_size/);
    assert.match(await failure('smtp_inspect_policy: intercept'), /\/smtp_inspect_policy: SMTP interception is not implemented/);
    assert.match(await failure('imap_interception: { greeting_timeout: 1s }'), /IMAP interception/);
    // do-nothing values load
    await auditor('icap_reqmod_service: null\nstream_detour_service: {}\nsmtp_interception: {}');
  });

  it('checks values and names keys in errors', async () => {
    assert.match(await failure('protocol_inspection: { inspect_max_depth: -1 }'), /protocol_inspection\/inspect_max_depth/);
    assert.match(await failure('protocol_inspection: { no_such_key: 1 }'), /invalid key 'no_such_key'/);
    assert.match(await failure('server_tcp_portmap: { 25: gopher }'), /server_tcp_portmap\/25: unknown protocol "gopher"/);
    assert.match(await failure('h2_inspect_policy: allow'), /invalid inspect action/);
    assert.match(await failure('h1_interception: { pipeline_size: 0 }'), /pipeline_size/);
    assert.match(await failure('task_audit_ratio: 2'), /task_audit_ratio/);
    assert.match(await failure('h2_interception: { max_streams: 3 }'), /h2_interception\/max_streams: unknown key 'max_streams'/);
  });
});

describe('inspect policy', () => {
  it('matches exact hosts, then child domains, then subnets, else the default', () => {
    const p = parseInspectPolicy({
      default: 'intercept',
      exact_match: { block: ['bad.example.com', '192.0.2.7'] },
      child_match: { bypass: 'example.com' },
      subnet_match: { block: '10.0.0.0/8', bypass: ['2001:db8::/32'] },
    });
    assert.equal(p.actionFor('bad.example.com'), 'block');
    assert.equal(p.actionFor('www.example.com'), 'bypass');
    assert.equal(p.actionFor('example.com'), 'bypass');
    assert.equal(p.actionFor('notexample.com'), 'intercept');
    assert.equal(p.actionFor('192.0.2.7'), 'block');
    assert.equal(p.actionFor('10.1.2.3'), 'block');
    assert.equal(p.actionFor('2001:db8::1'), 'bypass');
    assert.equal(p.actionFor('[2001:db8::1]'), 'bypass');
    assert.equal(p.actionFor('11.1.2.3'), 'intercept');
    assert.equal(parseInspectPolicy('Bypass').actionFor('x'), 'bypass');
    assert.throws(() => parseInspectPolicy({ regex_match: {} }), /invalid key 'regex_match'/);
  });
});

describe('user audit', () => {
  it('has g3\'s defaults and reads the ratio alias', () => {
    assert.deepEqual(DEFAULT_USER_AUDIT, { enableProtocolInspection: false, prohibitUnknownProtocol: false, prohibitTimeoutProtocol: true, taskAuditRatio: undefined });
    const a = parseUserAudit({ 'enable-protocol-inspection': true, application_audit_ratio: '50%' });
    assert.equal(a.enableProtocolInspection, true);
    assert.equal(a.prohibitTimeoutProtocol, true);
    assert.equal(a.taskAuditRatio, 0.5);
    assert.throws(() => parseUserAudit({ enable_inspection: true }), /invalid key 'enable_inspection'/);
    assert.throws(() => parseUserAudit({ prohibit_unknown_protocol: 'maybe' }), (e: Error & { path?: string[] }) => e.path?.[0] === 'prohibit_unknown_protocol');
  });
});
