/**
 * g3proxy's regexes are Rust `regex` crate patterns matched unanchored (`is_match`). JavaScript's RegExp
 * reads the same syntax for everything commonly written in a host rule; the differences handled here are
 * Rust's leading inline flags `(?i)`/`(?s)`/`(?m)` (turned into RegExp flags), `(?P<name>` groups, and
 * the `\A` / `\z` anchors.
 */
import { ValueError, describe } from '../errors.js';
import type { AclAction } from './action.js';
import { ACL_ACTIONS } from './action.js';

export function compileRustRegex(v: unknown): RegExp {
  if (typeof v !== 'string') throw new ValueError(`regex must be a string, got ${describe(v)}`);
  let src = v;
  let flags = '';
  const inline = /^\(\?([ims]+)\)/.exec(src);
  if (inline) {
    flags = [...new Set(inline[1]!)].join('');
    src = src.slice(inline[0].length);
  }
  src = src.replace(/\(\?P</g, '(?<').replace(/\\A/g, '^').replace(/\\z/g, '$');
  try {
    return new RegExp(src, flags);
  } catch (e) {
    throw new ValueError(`invalid regex '${v}': ${(e as Error).message}`);
  }
}

/**
 * Regexes grouped by action. A text matching regexes of several actions gets the strictest one, as in
 * g3proxy's RegexSetMatch (a BTreeMap ordered by action).
 */
export class RegexActionSet {
  /** by pattern (flags + source), so a pattern given again takes the later action */
  private readonly byPattern = new Map<string, { readonly re: RegExp; readonly action: AclAction }>();
  /** regexes grouped by action, strictest group first */
  private groups: (readonly [AclAction, readonly RegExp[]])[] = [];

  add(re: RegExp, action: AclAction): void {
    this.byPattern.set(`${re.flags}/${re.source}`, { re, action });
    const entries = [...this.byPattern.values()];
    this.groups = ACL_ACTIONS.map((a) => [a, entries.filter((e) => e.action === a).map((e) => e.re)] as const).filter(
      ([, list]) => list.length > 0,
    );
  }

  get isEmpty(): boolean {
    return this.groups.length === 0;
  }

  /** The strictest action among matching regexes, or undefined. */
  match(text: string): AclAction | undefined {
    for (const [action, list] of this.groups) {
      for (const re of list) if (re.test(text)) return action;
    }
    return undefined;
  }
}
