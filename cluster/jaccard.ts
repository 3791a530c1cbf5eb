/**
 * k-reciprocal Jaccard distance, exactly the contract's "jaccard_distance in detail" (cluster-contrast's
 * compute_jaccard_distance), computed from sparse k-NN lists into sparse rows.
 *
 * Symbols: X [N, D] features (L2-normalised), knn[i] the k1 nearest points of i (i first, knn.ts),
 * R(i, k) k-reciprocal neighbours, E(i) the expanded set, V [N, N] sparse weights (rows sum to 1),
 * dist[i, j] = 1 − m / (2 − m) with m = Σ_c min(V[i, c], V[j, c]).
 * Output: SparseRows holding every dist[i, j] with m > 0 (all dist < 1), or only those ≤ maxDist
 * when given; without maxDist every pair not stored has dist = 1, so `densify(rows, 1)` is the full matrix.
 * Memory: O(N · (|E| · k2 + stored entries)); never an N × N matrix.
 */
import type { Float } from '../core/gemm.ts';
import { type KnnLists, knn, knnParallel } from './knn.ts';
import { type SparseRows, SparseRowsBuilder } from './sparse.ts';

export interface JaccardOptions {
  /** k1 of the k-reciprocal sets (default 30, DESIGN.md). */
  k1?: number;
  /** k2 of the query expansion (default 6). */
  k2?: number;
  /** Store only distances ≤ maxDist (default: every pair with any overlap, i.e. every dist < 1). */
  maxDist?: number;
}

/** numpy's `around` for x.5: round half to even (20 → 10, 25 → 12, 15 → 8). */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const r = x - f;
  if (r < 0.5) return f;
  if (r > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

/** Step 2: R(i, k) for every i: the first min(k+1, k1) entries j of knn[i] with i among the first min(k+1, k1) of knn[j]. */
export function kReciprocalSets(kn: KnnLists, k1: number, k: number): Int32Array[] {
  const cut = Math.min(k + 1, k1);
  const out: Int32Array[] = new Array(kn.N);
  const buf = new Int32Array(cut);
  for (let i = 0; i < kn.N; i++) {
    let n = 0;
    for (let a = 0; a < cut; a++) {
      const j = kn.index[i * kn.k + a];
      for (let b = 0; b < cut; b++) {
        if (kn.index[j * kn.k + b] === i) { buf[n++] = j; break; }
      }
    }
    out[i] = buf.slice(0, n);
  }
  return out;
}

/** Steps 3–4: V rows (sparse, columns ascending): softmax of −(2 − 2 f_i·f_j) over the expanded set E(i). */
function weightRows(X: Float, N: number, D: number, kn: KnnLists, k1: number): SparseRows {
  const R = kReciprocalSets(kn, k1, k1);
  const Rh = kReciprocalSets(kn, k1, roundHalfEven(k1 / 2));
  const inR = new Int32Array(N).fill(-1);
  const inE = new Int32Array(N).fill(-1);
  const E: number[] = [];
  const w = new Float64Array(N);
  const builder = new SparseRowsBuilder(N);
  for (let i = 0; i < N; i++) {
    const Ri = R[i];
    E.length = 0;
    for (const j of Ri) { inR[j] = i; inE[j] = i; E.push(j); }
    // Step 3: E(i) = R(i) ∪ Rh(c) for each c in R(i) with 3·|Rh(c) ∩ R(i)| > 2·|Rh(c)|.
    for (const c of Ri) {
      const Rc = Rh[c];
      let overlap = 0;
      for (const j of Rc) if (inR[j] === i) overlap++;
      if (3 * overlap > 2 * Rc.length) {
        for (const j of Rc) if (inE[j] !== i) { inE[j] = i; E.push(j); }
      }
    }
    E.sort((a, b) => a - b);
    // Step 4: V[i, j] = softmax over j in E(i) of −(2 − 2 f_i·f_j), f_i·f_j computed from X for every j.
    // Not read back from the k-NN lists: those may have been ranked with a same-camera penalty
    // (knn-block.ts), which must decide who the neighbours are, never their weights (issue 14).
    let maxLogit = -Infinity;
    for (let t = 0; t < E.length; t++) {
      const j = E[t];
      let dot = 0;
      for (let x = i * D, y = j * D, e = x + D; x < e; x++, y++) dot += X[x] * X[y];
      w[t] = -(2 - 2 * dot);
      if (w[t] > maxLogit) maxLogit = w[t];
    }
    let sum = 0;
    for (let t = 0; t < E.length; t++) { w[t] = Math.exp(w[t] - maxLogit); sum += w[t]; }
    for (let t = 0; t < E.length; t++) w[t] /= sum;
    builder.pushRow(E, w, E.length);
  }
  return builder.finish();
}

/** Step 5: V[i] ← mean of V[j] over the first k2 entries j of knn[i] (the V of step 4). */
function queryExpansion(V: SparseRows, kn: KnnLists, k2: number): SparseRows {
  const N = V.N;
  const acc = new Float64Array(N);
  const seen = new Uint8Array(N);
  const touched: number[] = [];
  const vals = new Float64Array(N);
  const builder = new SparseRowsBuilder(N);
  for (let i = 0; i < N; i++) {
    touched.length = 0;
    for (let a = 0; a < k2; a++) {
      const j = kn.index[i * kn.k + a];
      for (let p = V.indptr[j]; p < V.indptr[j + 1]; p++) {
        const c = V.indices[p];
        if (!seen[c]) { seen[c] = 1; touched.push(c); }
        acc[c] += V.values[p];
      }
    }
    touched.sort((a, b) => a - b);
    for (let t = 0; t < touched.length; t++) {
      const c = touched[t];
      vals[t] = acc[c] / k2;
      acc[c] = 0;
      seen[c] = 0;
    }
    builder.pushRow(touched, vals, touched.length);
  }
  return builder.finish();
}

/** Step 6: dist[i, j] = 1 − m/(2 − m), m = Σ_c min(V[i, c], V[j, c]), negatives set to 0; via an inverted index of V's columns. */
function jaccardRows(V: SparseRows, maxDist: number): SparseRows {
  const N = V.N;
  // Inverted index (CSC of V): for column c, the rows r with V[r, c] ≠ 0, ascending, and their values.
  const colPtr = new Int32Array(N + 1);
  for (let p = 0; p < V.indices.length; p++) colPtr[V.indices[p] + 1]++;
  for (let c = 0; c < N; c++) colPtr[c + 1] += colPtr[c];
  const colRows = new Int32Array(V.indices.length);
  const colVals = new Float64Array(V.indices.length);
  const fillAt = colPtr.slice(0, N);
  for (let r = 0; r < N; r++) {
    for (let p = V.indptr[r]; p < V.indptr[r + 1]; p++) {
      const q = fillAt[V.indices[p]]++;
      colRows[q] = r;
      colVals[q] = V.values[p];
    }
  }
  const m = new Float64Array(N);
  const seen = new Uint8Array(N);
  let touched = new Int32Array(1024);
  const cols = new Int32Array(N);
  const dists = new Float64Array(N);
  const builder = new SparseRowsBuilder(N);
  for (let i = 0; i < N; i++) {
    let nt = 0;
    // Columns c of row i in ascending order, so m[i, j] and m[j, i] add the same terms in the same order.
    for (let p = V.indptr[i]; p < V.indptr[i + 1]; p++) {
      const c = V.indices[p];
      const vi = V.values[p];
      for (let q = colPtr[c]; q < colPtr[c + 1]; q++) {
        const j = colRows[q];
        if (!seen[j]) {
          seen[j] = 1;
          if (nt === touched.length) { const t2 = new Int32Array(nt * 2); t2.set(touched); touched = t2; }
          touched[nt++] = j;
        }
        const vj = colVals[q];
        m[j] += vi < vj ? vi : vj;
      }
    }
    const row = touched.subarray(0, nt).sort();
    let n = 0;
    for (let t = 0; t < nt; t++) {
      const j = row[t];
      let d = 1 - m[j] / (2 - m[j]);
      if (d < 0) d = 0;
      if (m[j] > 0 && d <= maxDist) { cols[n] = j; dists[n] = d; n++; }
      m[j] = 0;
      seen[j] = 0;
    }
    builder.pushRow(cols, dists, n);
  }
  return builder.finish();
}

function checkOptions(N: number, kn: KnnLists, k1: number, k2: number): void {
  if (!Number.isInteger(k1) || k1 < 1 || k1 > N) throw new Error(`jaccard: k1 = ${k1} must be an integer in [1, N = ${N}]`);
  if (!Number.isInteger(k2) || k2 < 1 || k2 > k1) throw new Error(`jaccard: k2 = ${k2} must be an integer in [1, k1 = ${k1}]`);
  if (kn.N !== N || kn.k < k1) throw new Error(`jaccard: k-NN lists are [${kn.N}, ${kn.k}], need [N = ${N}, ≥ k1 = ${k1}]`);
}

/**
 * Steps 2–6 from given k-NN lists (at least k1 per row; only the first k1 are used). Only the lists'
 * indices are read, never `kn.dist`: equal neighbour lists give equal rows, whatever ranked them.
 */
export function jaccardFromKnn(X: Float, N: number, D: number, kn: KnnLists, opts: JaccardOptions = {}): SparseRows {
  const k1 = opts.k1 ?? 30;
  const k2 = opts.k2 ?? 6;
  checkOptions(N, kn, k1, k2);
  const lists = kn.k === k1 ? kn : truncate(kn, k1);
  let V = weightRows(X, N, D, lists, k1);
  // Step 5 (skipped when k2 = 1, as the original does).
  if (k2 !== 1) V = queryExpansion(V, lists, k2);
  return jaccardRows(V, opts.maxDist ?? Infinity);
}

function truncate(kn: KnnLists, k: number): KnnLists {
  const index = new Int32Array(kn.N * k);
  const dist = new Float64Array(kn.N * k);
  for (let i = 0; i < kn.N; i++) {
    index.set(kn.index.subarray(i * kn.k, i * kn.k + k), i * k);
    dist.set(kn.dist.subarray(i * kn.k, i * kn.k + k), i * k);
  }
  return { N: kn.N, k, index, dist };
}

/** The whole jaccard_distance (step 1 by exact k-NN on this thread). */
export function jaccardDistance(X: Float, N: number, D: number, opts: JaccardOptions = {}): SparseRows {
  return jaccardFromKnn(X, N, D, knn(X, N, D, opts.k1 ?? 30), opts);
}

/** The same with the k-NN GEMM over worker_threads. */
export async function jaccardDistanceParallel(X: Float, N: number, D: number, opts: JaccardOptions & { threads?: number } = {}): Promise<SparseRows> {
  return jaccardFromKnn(X, N, D, await knnParallel(X, N, D, opts.k1 ?? 30, { threads: opts.threads }), opts);
}
