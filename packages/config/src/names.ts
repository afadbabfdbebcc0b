/**
 * Key and name spelling rules shared by the loader and the validator.
 *
 * g3 normalises keys (and most enum-like values such as `type:`) by lowercasing and turning `-` into `_`,
 * so `user-group`, `Private-Key` and `private_key` are the same key.
 */

export function normalizeKey(raw: string): string {
  return raw.toLowerCase().replaceAll('-', '_');
}

/** Type names are registered in this form (`c-ares` ⇒ `c_ares`, `Direct-Fixed` ⇒ `direct_fixed`). */
export function normalizeTypeName(raw: string): string {
  return normalizeKey(raw);
}

// Object names end up in metric tags and log fields, so only characters that survive StatsD and log
// pipelines are allowed (g3's metrics node name rule): letters and digits of any script, `_ . / -`.
const OBJECT_NAME = /^[\p{L}\p{N}_./-]+$/u;

export function isValidObjectName(name: string): boolean {
  return OBJECT_NAME.test(name);
}

/** The closest candidate to `key` when it is close enough to be a likely typo, else undefined. */
export function suggestKey(key: string, candidates: Iterable<string>): string | undefined {
  const wanted = normalizeKey(key);
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = editDistance(wanted, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  if (best === undefined) return undefined;
  // Short keys tolerate one slip, longer ones a few; beyond that a suggestion is more noise than help.
  const limit = wanted.length <= 4 ? 1 : wanted.length <= 10 ? 2 : 3;
  return bestDistance <= limit ? best : undefined;
}

/** Levenshtein distance, with adjacent transpositions counted as one edit (`lsiten` ⇒ `listen`). */
function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => {
    const row = new Array<number>(cols).fill(0);
    row[0] = i;
    return row;
  });
  for (let j = 0; j < cols; j++) d[0][j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2][j - 2] + 1);
      d[i][j] = v;
    }
  }
  return d[a.length][b.length];
}
