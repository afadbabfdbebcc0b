/**
 * g3's selective pick policies over a weighted list: random, serial, round_robin, ketama, rendezvous, jump_hash.
 *
 * The hashing policies take a key (route_select: `<client-ip>[-<username>]-<upstream-host>`) so the same key keeps
 * landing on the same node while the list is unchanged, and only a share of keys move when a node is added.
 * Everything that can be precomputed (cumulative weights, the ketama ring, jump slots) is built once per list.
 */
import { createHash } from 'node:crypto';
import type { PickPolicy } from '@sluice/common';

export interface Weighted<T> {
  readonly item: T;
  /** relative weight; 0 removes the node from weighted policies */
  readonly weight: number;
}

/** FNV-1a over the UTF-16 code units, folded to 32 bits: cheap, stable across runs. */
export function hash32(s: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  // final avalanche (murmur3 fmix32) so near-identical keys spread
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const KETAMA_POINTS_PER_WEIGHT = 40; // ×4 points per md5 digest = 160 per unit weight, as libketama

export class Picker<T> {
  readonly size: number;
  private readonly items: T[];
  private readonly weights: number[];
  private readonly cumulative: number[];
  private readonly total: number;
  private counter = 0;
  // smooth weighted round robin state
  private readonly current: number[];
  private ring: { points: Uint32Array; owners: Uint32Array } | null = null;
  private slots: Uint32Array | null = null;

  constructor(list: ReadonlyArray<Weighted<T>>, readonly policy: PickPolicy) {
    const usable = list.filter((w) => w.weight > 0);
    // a list whose weights are all zero still picks something: treat every node as weight 1
    const src = usable.length > 0 ? usable : list.map((w) => ({ item: w.item, weight: 1 }));
    this.items = src.map((w) => w.item);
    this.weights = src.map((w) => w.weight);
    this.size = this.items.length;
    this.cumulative = [];
    let acc = 0;
    for (const w of this.weights) this.cumulative.push((acc += w));
    this.total = acc;
    this.current = new Array<number>(this.size).fill(0);
    // serial and round robin start at a random node so several processes do not all hit the first one
    this.counter = Math.floor(Math.random() * Math.max(1, this.size));
  }

  all(): readonly T[] {
    return this.items;
  }

  /** Pick one node; `key` matters only for ketama, rendezvous and jump_hash. Throws on an empty list. */
  pick(key = ''): T {
    const n = this.size;
    if (n === 0) throw new Error('nothing to pick from');
    if (n === 1) return this.items[0]!;
    switch (this.policy) {
      case 'random':
        return this.items[this.byWeight(Math.random() * this.total)]!;
      case 'serial':
        // listed order, one after the other, weights ignored
        return this.items[(this.counter = (this.counter + 1) % n)]!;
      case 'round_robin':
        return this.items[this.smoothRoundRobin()]!;
      case 'ketama':
        return this.items[this.ketama(key)]!;
      case 'rendezvous':
        return this.items[this.rendezvous(key)]!;
      case 'jump_hash':
        return this.items[this.jump(key)]!;
    }
  }

  private byWeight(x: number): number {
    const c = this.cumulative;
    let lo = 0;
    let hi = c.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (x < c[mid]!) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  /** nginx's smooth weighted round robin: exact proportions, spread out rather than in bursts. */
  private smoothRoundRobin(): number {
    let best = 0;
    for (let i = 0; i < this.size; i++) {
      this.current[i]! += this.weights[i]!;
      if (this.current[i]! > this.current[best]!) best = i;
    }
    this.current[best]! -= this.total;
    return best;
  }

  private ketama(key: string): number {
    if (!this.ring) this.ring = buildRing(this.items.length, this.weights);
    const { points, owners } = this.ring;
    const h = hash32(key);
    let lo = 0;
    let hi = points.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (points[mid]! < h) lo = mid + 1;
      else hi = mid;
    }
    return owners[lo === points.length ? 0 : lo]!;
  }

  /** Weighted rendezvous (highest random weight): score = -w / ln(u), u uniform in (0,1) from hash(key, node). */
  private rendezvous(key: string): number {
    const kh = hash32(key);
    let best = 0;
    let bestScore = -Infinity;
    for (let i = 0; i < this.size; i++) {
      const u = (hash32(String(i), kh ^ 0x9e3779b9) + 0.5) / 4294967296;
      const score = -this.weights[i]! / Math.log(u);
      if (score > bestScore) {
        bestScore = score;
        best = i;
      }
    }
    return best;
  }

  /** Jump consistent hash over weight-proportional slots, driven by a PRNG seeded from the key. */
  private jump(key: string): number {
    if (!this.slots) this.slots = buildSlots(this.weights);
    const buckets = this.slots.length;
    let state = hash32(key) || 1;
    let b = -1;
    let j = 0;
    while (j < buckets) {
      b = j;
      // xorshift32 step, mapped into (0, 1]
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      const r = ((state >>> 0) + 1) / 4294967296;
      j = Math.floor((b + 1) / r);
    }
    return this.slots[b]!;
  }
}

function buildRing(n: number, weights: number[]): { points: Uint32Array; owners: Uint32Array } {
  const pairs: Array<[number, number]> = [];
  for (let i = 0; i < n; i++) {
    const reps = Math.max(1, Math.round(weights[i]! * KETAMA_POINTS_PER_WEIGHT));
    for (let r = 0; r < reps; r++) {
      const d = createHash('md5').update(`${i}-${r}`).digest();
      for (let k = 0; k < 4; k++) pairs.push([d.readUInt32LE(k * 4), i]);
    }
  }
  pairs.sort((a, b) => a[0] - b[0]);
  return { points: Uint32Array.from(pairs, (p) => p[0]), owners: Uint32Array.from(pairs, (p) => p[1]) };
}

/** Slots proportional to weight (the smallest weight gets one slot, at most 1000 slots in all). */
function buildSlots(weights: number[]): Uint32Array {
  const min = Math.min(...weights);
  const scale = Math.min(1 / min, 1000 / weights.reduce((a, b) => a + b, 0));
  const out: number[] = [];
  weights.forEach((w, i) => {
    const k = Math.max(1, Math.round(w * scale));
    for (let r = 0; r < k; r++) out.push(i);
  });
  return Uint32Array.from(out);
}

/** The key g3 hashes for escaper selection: `<client-ip>[-<username>]-<upstream-host>`. */
export function selectionKey(clientIp: string, user: string | undefined, host: string): string {
  return user ? `${clientIp}-${user}-${host}` : `${clientIp}-${host}`;
}
