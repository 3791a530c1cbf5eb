/**
 * k-reciprocal re-ranking (Zhong et al., CVPR 2017), the standard `re_ranking(q_g_dist, q_q_dist,
 * g_g_dist, k1=20, k2=6, lambda_value=0.3)` of the re-ID community (Huang's distance-matrix version,
 * as shipped with open-reid and cluster-contrast), step by step:
 *
 *   N = Q + G; d = [[qq, qg], [qgᵀ, gg]] squared element-wise (the original's `np.power(d, 2)`),
 *   each row divided by its maximum (the original's column max + transpose, equal for symmetric d);
 *   rank[i] = argsort(d[i]);
 *   R(i, k) = {j in rank[i][0..k] : i in rank[j][0..k]};  R(i) = R(i, k1), Rh(i) = R(i, round(k1/2));
 *   E(i) = R(i) ∪ Rh(c) for every c in R(i) with |Rh(c) ∩ R(i)| > 2/3 |Rh(c)|;
 *   V[i, j] = exp(-d[i, j]) / Σ_{E(i)} exp(-d)  for j in E(i), else 0;
 *   if k2 ≠ 1: V[i] ← mean of V[rank[i][0..k2-1]]  (local query expansion);
 *   jaccard[q, j] = 1 - m / (2 - m), m = Σ_l min(V[q, l], V[j, l]);
 *   final[q, g] = (1 - λ) jaccard[q, Q+g] + λ d[q, Q+g].
 *
 * Dense: it holds three N x N float32 matrices (d, V and the expanded V), i.e. 12·N² bytes, so it is
 * meant for modest sizes (N up to a few thousand); at Market-1501 scale (N = 19,281) that is 4.5 GB
 * and `reRank` refuses with a message unless `maxItems` is raised. This is the definition:
 * evaluate() re-ranks with ./rerank-features.ts, which gives these numbers bit for bit from the
 * features at any size.
 */
import { roundHalfEven } from '../../cluster/jaccard.ts';

export interface RerankOptions {
  k1?: number;
  k2?: number;
  lambda?: number;
  /** Refuse when Q + G exceeds this (dense N x N memory). Default 8000. */
  maxItems?: number;
}

/** Stable argsort of row[off .. off+n) ascending, first `k` entries (k <= n). */
function argsortPrefix(row: Float32Array, off: number, n: number, k: number, idx: Int32Array, out: Int32Array, outOff: number): void {
  for (let j = 0; j < n; j++) idx[j] = j;
  const sorted = Array.from(idx).sort((a, b) => row[off + a] - row[off + b] || a - b);
  for (let j = 0; j < k; j++) out[outOff + j] = sorted[j];
}

/** Re-ranked distances final[Q, G] from qg[Q, G], qq[Q, Q], gg[G, G] (row-major). */
export function reRank(
  qg: ArrayLike<number>, qq: ArrayLike<number>, gg: ArrayLike<number>, Q: number, G: number, opts: RerankOptions = {},
): Float32Array {
  const k1 = opts.k1 ?? 20;
  const k2 = opts.k2 ?? 6;
  const lambda = opts.lambda ?? 0.3;
  const N = Q + G;
  const maxItems = opts.maxItems ?? 8000;
  if (N > maxItems) {
    throw new Error(`reRank: Q + G = ${N} items need 12·N² = ${((12 * N * N) / 2 ** 30).toFixed(1)} GiB (dense re-ranking); limit is maxItems = ${maxItems}`);
  }
  if (qg.length !== Q * G || qq.length !== Q * Q || gg.length !== G * G) {
    throw new Error(`reRank: expected qg ${Q}x${G}, qq ${Q}x${Q}, gg ${G}x${G}; got ${qg.length}, ${qq.length}, ${gg.length} values`);
  }
  if (!(k1 >= 1 && k2 >= 1 && k1 < N)) throw new Error(`reRank: need 1 <= k1 < N and k2 >= 1 (k1=${k1}, k2=${k2}, N=${N})`);
  // d = [[qq, qg], [qgᵀ, gg]]², each row divided by its max.
  const d = new Float32Array(N * N);
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < N; j++) {
      let v: number;
      if (i < Q) v = j < Q ? qq[i * Q + j] : qg[i * G + (j - Q)];
      else v = j < Q ? qg[j * G + (i - Q)] : gg[(i - Q) * G + (j - Q)];
      d[i * N + j] = v * v;
    }
  }
  // Column max, then transpose (the original's order; equal to a row max for symmetric input).
  const colMax = new Float64Array(N);
  for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) colMax[j] = Math.max(colMax[j], d[i * N + j]);
  const dn = new Float32Array(N * N);
  for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) dn[i * N + j] = d[j * N + i] / (colMax[i] || 1);
  d.set(dn);
  // The first k1+1 entries of each row's ranking (k2 <= k1+1 is all the expansion needs).
  const K = Math.min(N, Math.max(k1 + 1, k2));
  const rank = new Int32Array(N * K);
  const idx = new Int32Array(N);
  for (let i = 0; i < N; i++) argsortPrefix(d, i * N, N, K, idx, rank, i * K);
  const h = roundHalfEven(k1 / 2);
  // V from the expanded k-reciprocal sets.
  let V = new Float32Array(N * N);
  for (let i = 0; i < N; i++) {
    const E = expandedSet(kReciprocal(rank, K, i, k1), (c) => kReciprocal(rank, K, c, h));
    let s = 0;
    for (const j of E) s += Math.exp(-d[i * N + j]);
    for (const j of E) V[i * N + j] = Math.exp(-d[i * N + j]) / s;
  }
  // Local query expansion over the k2 nearest.
  if (k2 !== 1) {
    const Vqe = new Float32Array(N * N);
    for (let i = 0; i < N; i++) {
      const o = i * N;
      for (let a = 0; a < k2; a++) {
        const r = rank[i * K + a] * N;
        for (let j = 0; j < N; j++) Vqe[o + j] += V[r + j];
      }
      for (let j = 0; j < N; j++) Vqe[o + j] /= k2;
    }
    V = Vqe;
  }
  // Inverted index: for each column l, the rows with V[row, l] != 0.
  const colRows: number[][] = Array.from({ length: N }, () => []);
  for (let i = 0; i < N; i++) for (let l = 0; l < N; l++) if (V[i * N + l] !== 0) colRows[l].push(i);
  const final = new Float32Array(Q * G);
  const tmpMin = new Float64Array(N);
  for (let q = 0; q < Q; q++) {
    tmpMin.fill(0);
    for (let l = 0; l < N; l++) {
      const vq = V[q * N + l];
      if (vq === 0) continue;
      for (const r of colRows[l]) tmpMin[r] += Math.min(vq, V[r * N + l]);
    }
    for (let g = 0; g < G; g++) {
      const m = tmpMin[Q + g];
      const jac = 1 - m / (2 - m);
      final[q * G + g] = jac * (1 - lambda) + d[q * N + Q + g] * lambda;
    }
  }
  return final;
}

/** R(i, k): the first min(k + 1, K) of i's ranking (rank [N, K]) that have i among their own first as many. */
export function kReciprocal(rank: Int32Array, K: number, i: number, k: number): number[] {
  const out: number[] = [];
  const kk = Math.min(k + 1, K);
  for (let a = 0; a < kk; a++) {
    const j = rank[i * K + a];
    for (let b = 0; b < kk; b++) if (rank[j * K + b] === i) { out.push(j); break; }
  }
  return out;
}

/** E(i), in insertion order: R(i), then Rh(c) for each c in R(i) with |Rh(c) ∩ R(i)| > 2/3 |Rh(c)|. */
export function expandedSet(R: number[], Rh: (c: number) => number[]): number[] {
  const inR = new Set(R);
  const E = new Set(R);
  for (const c of R) {
    const h = Rh(c);
    let common = 0;
    for (const x of new Set(h)) if (inR.has(x)) common++;
    if (common > (2 / 3) * h.length) for (const x of h) E.add(x);
  }
  return [...E];
}
