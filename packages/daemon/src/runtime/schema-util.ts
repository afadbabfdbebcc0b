/** Small builders for the JSON Schemas of object types, so each type's schema reads like its key table. */

export interface FieldSchema {
  [k: string]: unknown;
  description: string;
}

/** A g3 value parsed by one of the common value parsers (`duration`, `size`, `network_acl_egress`...). */
export function g3(value: string, description: string, extra: Record<string, unknown> = {}): FieldSchema {
  return { g3value: value, description, ...extra };
}

export function str(description: string, extra: Record<string, unknown> = {}): FieldSchema {
  return { type: 'string', description, ...extra };
}
export function int(description: string, extra: Record<string, unknown> = {}): FieldSchema {
  return { type: 'integer', description, ...extra };
}
export function bool(description: string): FieldSchema {
  return { type: 'boolean', description };
}
export function strList(description: string): FieldSchema {
  return { description, anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] };
}
/** A map whose keys are user data (tag names, domains): kept as written. */
export function stringMap(description: string): FieldSchema {
  return { type: 'object', description, additionalProperties: { type: ['string', 'number', 'boolean'] } };
}

/** The object schema of a type: `name`, `type` and the type's own fields; nothing else is allowed. */
export function objectSchema(
  typeNames: readonly string[],
  properties: Record<string, FieldSchema>,
  opts: { required?: string[]; aliases?: Record<string, string>; typeOptional?: boolean } = {},
): object {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['name', ...(opts.typeOptional ? [] : ['type']), ...(opts.required ?? [])],
    ...(opts.aliases ? { 'x-aliases': opts.aliases } : {}),
    properties: {
      name: { type: 'string', description: 'Unique name of the object; used in logs and metrics.' },
      type: { type: 'string', description: `Object type: ${typeNames.join(', ')}.` },
      ...properties,
    },
  };
}

/** Keys every escaper accepts (g3 ignores the ones a type does not use). */
export const commonEscaperFields: Record<string, FieldSchema> = {
  extra_metrics_tags: stringMap('Extra StatsD tags added to this escaper\'s metrics.'),
  shared_logger: str('Name of a logger shared with other escapers (`le-<name>`).'),
};

export const commonServerFields: Record<string, FieldSchema> = {
  extra_metrics_tags: stringMap('Extra StatsD tags added to this server\'s metrics.'),
  shared_logger: str('Name of a task logger shared with other servers (`lt-<name>`).'),
  listen_in_worker: bool('Listen in each worker runtime (accepted for g3 compatibility; sluice runs one event loop per process).'),
};
