/**
 * `sluice -g`: the object graph of a config, as g3proxy prints it — one cluster per role, escaper → escaper and
 * server → server edges inside clusters, then escaper → resolver (dotted), server → escaper, server → user group
 * (dotted) and server → auditor edges. Graphviz (g3's default), Mermaid and PlantUML renderings.
 */
import type { ParsedConfig } from './config-model.js';
import type { Dependencies, RoleName } from './object-def.js';

export type GraphFormat = 'graphviz' | 'mermaid' | 'plantuml';

interface Node {
  role: RoleName;
  name: string;
  deps: Dependencies;
}

const ORDER: RoleName[] = ['auditor', 'user_group', 'resolver', 'escaper', 'server'];
const COLOUR: Partial<Record<RoleName, string>> = { user_group: 'purple', resolver: 'blue', escaper: 'red', server: 'green' };

function nodes(parsed: ParsedConfig, role: RoleName): Node[] {
  return parsed.objects[role]
    .map((p) => ({ role, name: p.cfg.name, deps: p.def.dependsOn?.(p.cfg) ?? {} }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** Edges: [from role, from, to role, to, dotted] in g3's order. */
function edges(parsed: ParsedConfig): { inner: Map<RoleName, Array<[string, string]>>; outer: Array<[RoleName, string, RoleName, string, boolean]> } {
  const inner = new Map<RoleName, Array<[string, string]>>();
  const outer: Array<[RoleName, string, RoleName, string, boolean]> = [];
  for (const role of ORDER) {
    const list: Array<[string, string]> = [];
    for (const n of nodes(parsed, role)) for (const d of n.deps[role] ?? []) list.push([n.name, d]);
    inner.set(role, list);
  }
  for (const n of nodes(parsed, 'escaper')) for (const r of n.deps.resolver ?? []) if (r) outer.push(['escaper', n.name, 'resolver', r, true]);
  for (const n of nodes(parsed, 'server')) {
    for (const e of n.deps.escaper ?? []) outer.push(['server', n.name, 'escaper', e, false]);
    for (const u of n.deps.user_group ?? []) outer.push(['server', n.name, 'user_group', u, true]);
    for (const a of n.deps.auditor ?? []) outer.push(['server', n.name, 'auditor', a, false]);
  }
  return { inner, outer };
}

/** Node ids may only hold [A-Za-z0-9_]; names with other characters are quoted (graphviz) or escaped. */
function id(role: RoleName, name: string): string {
  const raw = `${role}_${name}`;
  return /^[A-Za-z0-9_]+$/.test(raw) ? raw : `"${raw.replace(/"/g, '\\"')}"`;
}
function safeId(role: RoleName, name: string): string {
  return `${role}_${name}`.replace(/[^A-Za-z0-9_]/g, (c) => `_${c.charCodeAt(0).toString(16)}_`);
}

export function graphviz(parsed: ParsedConfig): string {
  const { inner, outer } = edges(parsed);
  let s = 'strict digraph G {\n  /* append `| dot -Tsvg` to draw a svg file*/\n  concentrate=true;clusterrank=global;ranksep=1\n';
  for (const role of ORDER) {
    s += `  subgraph cluster_${role} {\n`;
    if (role === 'escaper') s += '    graph [label=escaper]\nnode [group=2]\n';
    else if (role === 'server') s += '    graph [label=server]\nnode [group=1]\n';
    else s += `    graph [style=dashed][label=${role}]\n`;
    for (const n of nodes(parsed, role)) {
      const c = COLOUR[role];
      s += `    ${id(role, n.name)} [label="${n.name}"${c ? `;color=${c}` : ''}]\n`;
    }
    for (const [a, b] of inner.get(role)!) s += `    ${id(role, a)} -> ${id(role, b)}\n`;
    s += '  };\n';
    if (role === 'escaper') for (const e of outer.filter((x) => x[0] === 'escaper')) s += `  ${id(e[0], e[1])} -> ${id(e[2], e[3])} [style=dotted]\n`;
  }
  for (const e of outer.filter((x) => x[0] === 'server')) s += `  ${id(e[0], e[1])} -> ${id(e[2], e[3])}${e[4] ? ' [style=dotted]' : ''}\n`;
  return `${s}}\n`;
}

export function mermaid(parsed: ParsedConfig): string {
  const { inner, outer } = edges(parsed);
  let s = 'flowchart LR\n';
  for (const role of ORDER) {
    s += `  subgraph ${role}\n`;
    for (const n of nodes(parsed, role)) s += `    ${safeId(role, n.name)}["${n.name.replace(/"/g, '#quot;')}"]\n`;
    for (const [a, b] of inner.get(role)!) s += `    ${safeId(role, a)} --> ${safeId(role, b)}\n`;
    s += '  end\n';
  }
  for (const e of outer) s += `  ${safeId(e[0], e[1])} ${e[4] ? '-.->' : '-->'} ${safeId(e[2], e[3])}\n`;
  return s;
}

export function plantuml(parsed: ParsedConfig): string {
  const { inner, outer } = edges(parsed);
  let s = '@startuml\n';
  for (const role of ORDER) {
    s += `package ${role} {\n`;
    for (const n of nodes(parsed, role)) s += `  rectangle "${n.name}" as ${safeId(role, n.name)}${COLOUR[role] ? ` #line:${COLOUR[role]}` : ''}\n`;
    for (const [a, b] of inner.get(role)!) s += `  ${safeId(role, a)} --> ${safeId(role, b)}\n`;
    s += '}\n';
  }
  for (const e of outer) s += `${safeId(e[0], e[1])} ${e[4] ? '..>' : '-->'} ${safeId(e[2], e[3])}\n`;
  return `${s}@enduml\n`;
}

export function depGraph(parsed: ParsedConfig, format: GraphFormat): string {
  return format === 'mermaid' ? mermaid(parsed) : format === 'plantuml' ? plantuml(parsed) : graphviz(parsed);
}
