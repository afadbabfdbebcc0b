/**
 * What a task carries from its user for the escapers: resolve_strategy and resolve_redirection override
 * the escaper's own for that user's tasks (g3 applies the user's redirection first, then the escaper's).
 */
import type { ResolveRedirection, ResolveRedirectionTarget, ResolveStrategy } from '@sluice/common';
import type { DirectConnectOptions } from '../escape/direct-connect.js';
import type { TaskContext } from '../task/task.js';

export interface UserResolveOverrides {
  readonly strategy: ResolveStrategy | undefined;
  readonly redirection: ResolveRedirection | undefined;
}

/** The user's redirection in front of the escaper's: only `lookup` is used by the connect path. */
function chained(user: ResolveRedirection, escaper: ResolveRedirection | undefined): ResolveRedirection {
  return {
    isEmpty: false,
    lookup: (domain: string): ResolveRedirectionTarget | undefined => user.lookup(domain) ?? escaper?.lookup(domain),
  } as unknown as ResolveRedirection;
}

/** Connect options for `task`: the escaper's, with the task user's resolve overrides (no copy when none). */
export function userConnectOptions(opts: DirectConnectOptions, task: TaskContext): DirectConnectOptions {
  const u = task.userResolve;
  if (!u) return opts;
  return {
    ...opts,
    tuning: u.strategy ? { ...opts.tuning, queryStrategy: u.strategy.query, pick: u.strategy.pick } : opts.tuning,
    redirect: u.redirection ? chained(u.redirection, opts.redirect) : opts.redirect,
  };
}
