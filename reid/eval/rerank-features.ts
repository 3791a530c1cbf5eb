/**
 * k-reciprocal re-ranking from features, at any size: the numbers of `reRank` (./rerank.ts, the
 * community's code step by step and the definition this is checked against), bit for bit, without
 * its three N x N matrices. Memory: the Q x G result, a block of `blockRows` x N distances, the
 * K = k1 + 1 nearest of every item and the sparse weights V (about N · |E| · k2 values).
 *
 * Symbols as in ./rerank.ts: X = [q; g] the N = Q + G L2-normalised rows, v = the squared distance
 * (./distance.ts: one GEMM per block of rows, so every pair gets the same float32 value whichever
 * side it is computed from), d = v² (float32), dn[i, j] = d[i, j] / max_j d[i, j] (the dense code's
 * column max of a symmetric matrix).
 *
 *   by blocks of rows: each row's maximum, then its K nearest by (dn, index) (the dense code's
 *   stable argsort, its first K), and dn[q, Q + g] for the queries (the λ term of the result);
 *   then R, E and V as there, dn of pairs beyond the K nearest from one small GEMM per row;
 *   the local query expansion over the k2 nearest, sparse, in the same order of float32 sums;
 *   the Jaccard distance of each query to each gallery item through the inverted index.
 */
import { alloc, recycling } from '../../core/tensor.ts';
import { TensorStorage } from '../../core/tensor-storage.ts';
import { squaredDistanceBlock } from './distance.ts';
import { roundHalfEven } from '../../cluster/jaccard.ts';
import { type RerankOptions, expandedSet, kReciprocal } from './rerank.ts';

/** One sparse row: columns ascending and their values. */
interface SparseRow { cols: Int32Array; vals: Float32Array }

/** Re-ranked distances final[Q, G] of L2-normalised features qn [Q, D] and gn [G, D]. */
export function reRankFeatures(qn: Float32Array, gn: Float32Array, Q: number, G: number, D: number,
  opts: RerankOptions & { blockRows?: number } = {}): Float32Array {
  const k1 = opts.k1 ?? 20, k2 = opts.k2 ?? 6, lambda = opts.lambda ?? 0.3;
  const N = Q + G;
  if (qn.length !== Q * D || gn.length !== G * D) throw new Error(`reRankFeatures: expected ${Q} x ${D} and ${G} x ${D} features, got ${qn.length} and ${gn.length} values`);
  if (!(k1 >= 1 && k2 >= 1 && k1 < N)) throw new Error(`reRankFeatures: need 1 <= k1 < N and k2 >= 1 (k1=${k1}, k2=${k2}, N=${N})`);
  // in a recycling scope, the features and the distance block live in the backend's memory (wasm:
  // shared, so the GEMMs split over the threads, and nothing is copied in per block); the result does not
  return recycling(() => {
    const all = alloc('float32', N * D) as Float32Array;
    all.set(qn);
    all.set(gn, Q * D);
    const X = new TensorStorage(all); // on a device backend: there once, not once per block
    const block = Math.max(1, Math.min(opts.blockRows ?? 128, N));
    const buf = alloc('float32', block * N) as Float32Array;
    // by blocks of rows: d = v² (float32) and each row's maximum, dn, its K nearest by (dn, index),
    // and for the queries dn of the gallery columns (the λ term of the result)
    const rowMax = new Float64Array(N);
    const scale = (i: number) => rowMax[i] || 1;
    const K = Math.min(N, Math.max(k1 + 1, k2));
    const rank = new Int32Array(N * K);
    const rankDn = new Float32Array(N * K);
    const final = new Float32Array(Q * G);
    for (let i0 = 0; i0 < N; i0 += block) {
      const rows = Math.min(block, N - i0);
      squaredDistanceBlock(X, i0, rows, X, N, D, buf);
      for (let r = 0; r < rows; r++) {
        const i = i0 + r, o = r * N;
        let m = 0;
        for (let j = 0; j < N; j++) {
          const d = (buf[o + j] = Math.fround(buf[o + j] * buf[o + j]));
          if (d > m) m = d;
        }
        rowMax[i] = m;
        const s = scale(i);
        for (let j = 0; j < N; j++) buf[o + j] = Math.fround(buf[o + j] / s);
        nearest(buf, o, N, K, rank, rankDn, i * K);
        if (i < Q) final.set(buf.subarray(o + Q, o + N), i * G);
      }
    }

    // V over the expanded k-reciprocal sets E(i), as ./rerank.ts builds them
    const h = roundHalfEven(k1 / 2);
    const V: SparseRow[] = new Array(N);
    for (let i = 0; i < N; i++) {
      const E = expandedSet(kReciprocal(rank, K, i, k1), (c) => kReciprocal(rank, K, c, h));
      const dn = distancesTo(i, E, rank, rankDn, K, (cols, out) => {
        const rowsOf = new Float32Array(cols.length * D);
        cols.forEach((j, t) => rowsOf.set(all.subarray(j * D, (j + 1) * D), t * D));
        const v = new Float32Array(cols.length);
        squaredDistanceBlock(X, i, 1, rowsOf, cols.length, D, v);
        v.forEach((x, t) => (out[t] = Math.fround(Math.fround(x * x) / scale(i))));
      });
      let s = 0;
      for (let t = 0; t < E.length; t++) s += Math.exp(-dn[t]);
      V[i] = sortedRow(E, Float32Array.from(dn, (x) => Math.exp(-x) / s));
    }

    // local query expansion: the mean of V over the k2 nearest, summed in float32 in their order
    const Vqe = k2 === 1 ? V : V.map((_, i) => expandRow(V, rank, i * K, k2));

    // the Jaccard distance through the inverted index: for each column l, the rows holding it
    const colRows: number[][] = Array.from({ length: N }, () => []);
    const colVals: number[][] = Array.from({ length: N }, () => []);
    Vqe.forEach((row, r) => row.cols.forEach((l, t) => { colRows[l].push(r); colVals[l].push(row.vals[t]); }));
    const minSum = new Float64Array(N);
    for (let q = 0; q < Q; q++) {
      minSum.fill(0);
      const { cols, vals } = Vqe[q];
      for (let t = 0; t < cols.length; t++) {
        const vq = vals[t], rs = colRows[cols[t]], vs = colVals[cols[t]];
        for (let u = 0; u < rs.length; u++) minSum[rs[u]] += Math.min(vq, vs[u]);
      }
      for (let g = 0; g < G; g++) {
        const m = minSum[Q + g];
        const jac = 1 - m / (2 - m);
        final[q * G + g] = jac * (1 - lambda) + final[q * G + g] * lambda;
      }
    }
    return final;
  });
}

/** The first k of row[off, off + n) by (value, index) ascending into out / outVal at outOff. */
function nearest(row: Float32Array, off: number, n: number, k: number, out: Int32Array, outVal: Float32Array, outOff: number): void {
  let size = 0;
  for (let j = 0; j < n; j++) {
    const v = row[off + j];
    if (size === k && !(v < outVal[outOff + k - 1])) continue; // ties keep the lower index, already in
    let p = size < k ? size++ : k - 1;
    while (p > 0 && v < outVal[outOff + p - 1]) {
      out[outOff + p] = out[outOff + p - 1];
      outVal[outOff + p] = outVal[outOff + p - 1];
      p--;
    }
    out[outOff + p] = j;
    outVal[outOff + p] = v;
  }
}

/** dn[i, j] for j in E: from i's K nearest where j is one of them, else from `compute` (one GEMM). */
function distancesTo(i: number, E: number[], rank: Int32Array, rankDn: Float32Array, K: number,
  compute: (cols: number[], out: Float32Array) => void): Float32Array {
  const dn = new Float32Array(E.length);
  const missing: number[] = [], where: number[] = [];
  E.forEach((j, t) => {
    let a = 0;
    while (a < K && rank[i * K + a] !== j) a++;
    if (a < K) dn[t] = rankDn[i * K + a];
    else { missing.push(j); where.push(t); }
  });
  if (missing.length) {
    const got = new Float32Array(missing.length);
    compute(missing, got);
    where.forEach((t, u) => (dn[t] = got[u]));
  }
  return dn;
}

function sortedRow(cols: number[], vals: Float32Array): SparseRow {
  const order = cols.map((_, t) => t).sort((a, b) => cols[a] - cols[b]);
  return { cols: Int32Array.from(order, (t) => cols[t]), vals: Float32Array.from(order, (t) => vals[t]) };
}

/** Row i of the expansion: Σ over a < k2 of V[rank[i][a]] (float32 sums, in order of a), over k2. */
function expandRow(V: SparseRow[], rank: Int32Array, off: number, k2: number): SparseRow {
  const acc = new Map<number, number>();
  for (let a = 0; a < k2; a++) {
    const { cols, vals } = V[rank[off + a]];
    for (let t = 0; t < cols.length; t++) acc.set(cols[t], Math.fround((acc.get(cols[t]) ?? 0) + vals[t]));
  }
  const cols = [...acc.keys()].sort((x, y) => x - y);
  return { cols: Int32Array.from(cols), vals: Float32Array.from(cols, (l) => Math.fround(acc.get(l)! / k2)) };
}
