/** A main-file section's map with g3's key normalisation (lowercase, `-` → `_`); null/absent reads as empty. */
export function normalizedMap(v: unknown, where: string): Record<string, unknown> {
  if (v === null || v === undefined) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new Error(`${where}: expected a map`);
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[k.toLowerCase().replaceAll('-', '_')] = x;
  return out;
}
