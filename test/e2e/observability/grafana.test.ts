/**
 * examples/grafana/dashboard.json: checked against Grafana's dashboard schema as @grafana/schema publishes it
 * (its `Dashboard` type, generated from Grafana's CUE schema) by compiling the JSON as a typed object literal
 * with the TypeScript compiler — unknown keys, missing required keys and wrong value types all fail — and
 * every series a panel or variable queries must be a metric sluice emits (doc/metrics-pipeline.md: StatsD
 * names through statsd_exporter become `g3proxy_<name with dots as underscores>`).
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import ts from 'typescript';
import { METRICS } from '@sluice/daemon';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..', '..', '..');
const dashboardText = readFileSync(join(repo, 'examples', 'grafana', 'dashboard.json'), 'utf8');

/** Type-check `source` (a module importing @grafana/schema) from inside test/ so the package resolves. */
function typeErrors(source: string): string[] {
  const dir = join(repo, 'test', 'dist', '.grafana-check');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `check-${process.pid}-${Math.random().toString(36).slice(2)}.ts`);
  writeFileSync(file, source);
  try {
    const program = ts.createProgram([file], {
      strict: true, noEmit: true, skipLibCheck: true, types: [],
      module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022,
    });
    return ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  } finally {
    rmSync(file, { force: true });
  }
}

const check = (json: string) => typeErrors(`import type { Dashboard } from '@grafana/schema';\nexport const dashboard: Dashboard = ${json};\n`);

describe('Grafana dashboard', () => {
  it('is a valid Grafana dashboard per @grafana/schema', () => {
    assert.deepEqual(check(dashboardText), []);
  });

  it('the schema check rejects what Grafana would not load', () => {
    const d = JSON.parse(dashboardText) as { panels: Array<Record<string, unknown>>; schemaVersion?: number };
    const noType = structuredClone(d);
    delete noType.panels[1]!.type;
    assert.ok(check(JSON.stringify(noType)).some((e) => /type/.test(e)), 'a panel without a type');
    const badKey = structuredClone(d) as Record<string, unknown>;
    badKey.refreshEvery = '5s';
    assert.ok(check(JSON.stringify(badKey)).length > 0, 'an unknown dashboard key');
    const noVersion = structuredClone(d);
    delete noVersion.schemaVersion;
    assert.ok(check(JSON.stringify(noVersion)).length > 0, 'no schemaVersion');
  });

  it('queries only series sluice emits', () => {
    const emitted = new Set(METRICS.filter((m) => !m.name.includes('<')).map((m) => `g3proxy_${m.name.replaceAll('.', '_')}`));
    const d = JSON.parse(dashboardText) as { panels: Array<{ targets?: Array<{ expr: string }> }>; templating: { list: Array<{ query?: unknown }> } };
    const exprs = [
      ...d.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)),
      ...d.templating.list.map((v) => (typeof v.query === 'string' ? v.query : '')),
    ];
    const used = new Set(exprs.flatMap((e) => [...e.matchAll(/\bg3proxy_[a-z0-9_]+/g)].map((m) => m[0])));
    assert.ok(used.size >= 30, `the dashboard covers the metric families (${used.size} series)`);
    for (const s of used) assert.ok(emitted.has(s), `${s} is not a metric sluice emits`);
    // the must-haves: traffic and tasks per server/escaper/user, error reasons, resolver health, event loop
    for (const s of ['g3proxy_server_task_total', 'g3proxy_escaper_task_total', 'g3proxy_user_request_total', 'g3proxy_server_traffic_in_bytes',
      'g3proxy_escaper_traffic_out_bytes', 'g3proxy_user_traffic_in_bytes', 'g3proxy_escaper_tcp_connect_error', 'g3proxy_server_forbidden_dest_denied',
      'g3proxy_resolver_query_server_serv_fail', 'g3proxy_process_event_loop_delay']) {
      assert.ok(used.has(s), `dashboard shows ${s}`);
    }
  });
});

describe('docs', () => {
  it('doc/metrics.md lists every metric with its type', () => {
    const doc = readFileSync(join(repo, 'doc', 'metrics.md'), 'utf8');
    for (const m of METRICS) {
      const row = doc.split('\n').find((l) => l.startsWith(`| \`${m.name}\``));
      assert.ok(row, `doc/metrics.md has a row for ${m.name}`);
      assert.match(row, new RegExp(`\\| ${m.type} \\|`), `${m.name} is a ${m.type}`);
    }
  });

  it('doc/logs.md lists every task, escape and resolve log field', () => {
    const doc = readFileSync(join(repo, 'doc', 'logs.md'), 'utf8');
    const fields = ['daemon_name', 'log_type', 'pid', 'server_type', 'server_name', 'task_type', 'task_id', 'task_event', 'stage', 'start_at', 'user',
      'server_addr', 'client_addr', 'upstream', 'escaper', 'next_bind_ip', 'next_bound_addr', 'next_peer_addr', 'next_expire', 'tcp_connect_tries',
      'tcp_connect_spend', 'reason', 'wait_time', 'ready_time', 'total_time', 'c_rd_bytes', 'c_wr_bytes', 'r_rd_bytes', 'r_wr_bytes', 'pipeline_wait',
      'reuse_connection', 'method', 'uri', 'user_agent', 'rsp_status', 'origin_status', 'dur_req_send_hdr', 'dur_req_send_all', 'dur_rsp_recv_hdr',
      'dur_rsp_recv_all', 'escaper_type', 'escaper_name', 'escape_type', 'resolver_type', 'resolver_name', 'query_type', 'duration', 'rr_source',
      'error_type', 'error_subtype', 'domain'];
    for (const f of fields) assert.match(doc, new RegExp(`\\| \`${f}\` \\|`), `doc/logs.md has a row for ${f}`);
  });
});
