/**
 * Slow, obvious references for cluster/: what the fast paths must compute, written as directly as
 * the contract and the definitions read, on dense N × N matrices (tests only, small N).
 */

/** Squared Euclidean distance matrix [N, N] by Σ (x − y)². */
export function sqDistReference(X: ArrayLike<number>, N: number, D: number): Float64Array {
  const out = new Float64Array(N * N);
  for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) {
    let s = 0;
    for (let d = 0; d < D; d++) s += (X[i * D + d] - X[j * D + d]) ** 2;
    out[i * N + j] = s;
  }
  return out;
}

/** knn[i]: i first, then the others by ascending (distance + λ if same camera, index), k in all. */
export function knnReference(X: ArrayLike<number>, N: number, D: number, k: number, cams?: ArrayLike<number>, penalty = 0): number[][] {
  const dist = sqDistReference(X, N, D);
  const key = (i: number, j: number) => dist[i * N + j] + (cams && cams[i] === cams[j] ? penalty : 0);
  return Array.from({ length: N }, (_, i) => {
    const others = Array.from({ length: N }, (_, j) => j).filter((j) => j !== i);
    others.sort((a, b) => key(i, a) - key(i, b) || a - b);
    return [i, ...others].slice(0, k);
  });
}

function dot(X: ArrayLike<number>, D: number, i: number, j: number): number {
  let s = 0;
  for (let d = 0; d < D; d++) s += X[i * D + d] * X[j * D + d];
  return s;
}

/** numpy.around for k1/2 (round half to even). */
function aroundHalf(k1: number): number {
  const h = k1 / 2;
  return Number.isInteger(h) ? h : (Math.floor(h) % 2 === 0 ? Math.floor(h) : Math.ceil(h));
}

/**
 * The contract's "jaccard_distance in detail", step by step, with a dense V and a dense result.
 * With camera ids and a same-camera penalty λ the k-NN lists of step 1 are ranked by d + λ·[c_i = c_j]
 * (knnReference) and nothing else changes: the weights of step 4 use the true f_i·f_j.
 */
export function jaccardReference(X: ArrayLike<number>, N: number, D: number, k1: number, k2: number, cams?: ArrayLike<number>, penalty = 0): Float64Array {
  const knn = knnReference(X, N, D, k1, cams, penalty);
  const R = (i: number, k: number): number[] => {
    const cut = Math.min(k + 1, k1);
    return knn[i].slice(0, cut).filter((j) => knn[j].slice(0, cut).includes(i));
  };
  const h = aroundHalf(k1);
  let V: number[][] = [];
  for (let i = 0; i < N; i++) {
    const Ri = R(i, k1);
    const E = new Set(Ri);
    for (const c of Ri) {
      const Rc = R(c, h);
      const overlap = Rc.filter((j) => Ri.includes(j)).length;
      if (overlap > (2 / 3) * Rc.length) for (const j of Rc) E.add(j);
    }
    const row = new Array<number>(N).fill(0);
    const members = [...E];
    const logits = members.map((j) => -(2 - 2 * dot(X, D, i, j)));
    const z = logits.reduce((s, l) => s + Math.exp(l), 0);
    members.forEach((j, t) => { row[j] = Math.exp(logits[t]) / z; });
    V.push(row);
  }
  if (k2 !== 1) {
    V = V.map((_, i) => {
      const rows = knn[i].slice(0, k2).map((j) => V[j]);
      return Array.from({ length: N }, (_, c) => rows.reduce((s, r) => s + r[c], 0) / k2);
    });
  }
  const out = new Float64Array(N * N);
  for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) {
    let m = 0;
    for (let c = 0; c < N; c++) m += Math.min(V[i][c], V[j][c]);
    out[i * N + j] = Math.max(0, 1 - m / (2 - m));
  }
  return out;
}

/**
 * DBSCAN from its definition (not scikit-learn's algorithm): core points have ≥ min_samples points
 * (themselves included) within eps; clusters are the connected components of core points linked
 * within eps; a non-core point within eps of a core point is a border point of one of those clusters
 * (here: the one of its nearest-indexed such core point); the rest is noise (−1).
 */
export function dbscanDefinition(dist: ArrayLike<number>, N: number, eps: number, minSamples: number): Int32Array {
  const near = (i: number, j: number) => dist[i * N + j] <= eps;
  const core = Array.from({ length: N }, (_, i) => Array.from({ length: N }, (_, j) => j).filter((j) => near(i, j)).length >= minSamples);
  const labels = new Int32Array(N).fill(-1);
  let next = 0;
  for (let i = 0; i < N; i++) {
    if (!core[i] || labels[i] !== -1) continue;
    const queue = [i];
    labels[i] = next;
    while (queue.length) {
      const a = queue.shift()!;
      for (let b = 0; b < N; b++) if (core[b] && labels[b] === -1 && near(a, b)) { labels[b] = next; queue.push(b); }
    }
    next++;
  }
  for (let i = 0; i < N; i++) {
    if (core[i]) continue;
    for (let j = 0; j < N; j++) if (core[j] && near(i, j)) { labels[i] = labels[j]; break; }
  }
  return labels;
}

/** A small seeded generator with the shape of core/random.ts's Rng (mulberry32), for tests. */
export class TestRng {
  private s: number;
  constructor(seed: number) { this.s = seed >>> 0; }
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number { return Math.floor(this.next() * n); }
  shuffle<T>(a: T[]): T[] {
    for (let i = a.length - 1; i > 0; i--) { const j = this.int(i + 1); [a[i], a[j]] = [a[j], a[i]]; }
    return a;
  }
  normal(): number {
    const u = 1 - this.next(), v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
}

/** N points around `clusters` random centres in D dims (noise σ), rows L2-normalised. */
export function clusteredFeatures(rng: TestRng, N: number, D: number, clusters: number, sigma: number): Float64Array {
  const centres = Array.from({ length: clusters }, () => Array.from({ length: D }, () => rng.normal()));
  const X = new Float64Array(N * D);
  for (let i = 0; i < N; i++) {
    const c = centres[rng.int(clusters)];
    let s = 0;
    for (let d = 0; d < D; d++) { X[i * D + d] = c[d] + sigma * rng.normal(); s += X[i * D + d] ** 2; }
    for (let d = 0; d < D; d++) X[i * D + d] /= Math.sqrt(s);
  }
  return X;
}

/** The contract's memory_update, on arrays of rows (M [K][D], f [B][D]), as its definition reads. */
/** v / ‖v‖. */
export const unit = (v: number[]): number[] => { const n = Math.hypot(...v); return v.map((x) => x / n); };

export function memoryUpdateReference(M: number[][], f: number[][], t: number[], mu: number, mode: 'hard' | 'momentum'): number[][] {
  const m = M.map((r) => [...r]);
  const step = (k: number, x: number[]) => { m[k] = unit(m[k].map((v, d) => mu * v + (1 - mu) * x[d])); };
  if (mode === 'momentum') f.forEach((x, b) => step(t[b], x));
  else {
    for (const k of [...new Set(t)].sort((a, b) => a - b)) {
      const sims = f.map((x, b) => (t[b] === k ? x.reduce((s, v, d) => s + v * m[k][d], 0) : Infinity));
      step(k, f[sims.indexOf(Math.min(...sims))]);
    }
  }
  return m;
}
