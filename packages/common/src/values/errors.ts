/**
 * ValueError: a config value that does not parse. `path` is where inside the value the problem is
 * (e.g. ['forbid', '2'] for the third record under `forbid:`), so the config loader can append it to
 * the key path of the value itself and point at the exact YAML node.
 */
export class ValueError extends Error {
  constructor(
    message: string,
    readonly path: string[] = [],
  ) {
    super(message);
    this.name = 'ValueError';
  }

  /** The path joined for messages: `forbid.2`, or '' at the value itself. */
  get where(): string {
    return this.path.join('.');
  }
}

/**
 * Runs `fn` and, if it throws a ValueError, re-throws it with `segment` prepended to its path.
 * Errors that are not ValueErrors are bugs and pass through untouched.
 */
export function within<T>(segment: string | number, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof ValueError) throw new ValueError(e.message, [String(segment), ...e.path]);
    throw e;
  }
}

/** A short description of a YAML value for messages: "a map", "the string 'x'", "the number 3". */
export function describe(v: unknown): string {
  if (v === null || v === undefined) return 'an empty value (null)';
  if (Array.isArray(v)) return 'a list';
  switch (typeof v) {
    case 'string':
      return `the string '${v.length > 60 ? v.slice(0, 57) + '...' : v}'`;
    case 'number':
      return `the number ${v}`;
    case 'boolean':
      return `the boolean ${v}`;
    case 'bigint':
      return `the number ${v}`;
    case 'object':
      return 'a map';
    default:
      return `a ${typeof v}`;
  }
}
