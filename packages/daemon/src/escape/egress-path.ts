/**
 * Egress path selection: what a client asked for about the way out, keyed by escaper name (g3's
 * EgressPathSelection). Servers fill it (http_proxy's egress_path_selection_header, username params, user maps);
 * escapers read their own entry: route_mapping and direct_fixed a number id, route_select a string id (the next
 * escaper's name), proxy escapers an upstream override.
 */
export class EgressPathSelection {
  private readonly numbers = new Map<string, number>();
  private readonly strings = new Map<string, string>();
  private readonly upstreams = new Map<string, { host: string; port: number; ipFamily: 0 | 4 | 6 }>();

  /**
   * `fromUser`: the selection comes from the user's egress_path_id_map. As in g3, it then stands in for the
   * client's own choice (http_proxy's selection header), and one object is shared by the user's tasks.
   */
  constructor(readonly fromUser = false) {}

  /**
   * A user's selection for a task that already chose something: the user's string ids; of the task's own
   * choice only the upstream overrides (username params) are kept, which g3 keeps apart from the selection.
   */
  static forUser(ids: ReadonlyMap<string, string>, task?: EgressPathSelection): EgressPathSelection {
    const s = new EgressPathSelection(true);
    for (const [escaper, id] of ids) s.strings.set(escaper, id);
    if (task) for (const [escaper, ups] of task.upstreams) s.upstreams.set(escaper, ups);
    return s;
  }

  get hasUpstreams(): boolean {
    return this.upstreams.size > 0;
  }

  setNumberId(escaper: string, id: number): void {
    this.numbers.set(escaper, id);
  }

  /** An index in 0..len: id 1 is the first node, 0 the last, larger ids wrap around. */
  selectNumberId(escaper: string, len: number): number | undefined {
    const id = this.numbers.get(escaper);
    if (id === undefined || len === 0) return undefined;
    if (id === 0) return len - 1;
    return (id - 1) % len;
  }

  setStringId(escaper: string, id: string): void {
    this.strings.set(escaper, id);
  }

  selectStringId(escaper: string): string | undefined {
    return this.strings.get(escaper);
  }

  setUpstream(escaper: string, ups: { host: string; port: number; ipFamily: 0 | 4 | 6 }): void {
    this.upstreams.set(escaper, ups);
  }

  selectUpstream(escaper: string): { host: string; port: number; ipFamily: 0 | 4 | 6 } | undefined {
    return this.upstreams.get(escaper);
  }
}
