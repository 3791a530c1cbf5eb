/**
 * DBSCAN with scikit-learn's semantics (sklearn.cluster.DBSCAN, metric='precomputed') on sparse
 * neighbourhoods: j is a neighbour of i when the entry (i, j) is stored and d(i, j) ≤ eps; a point
 * is core when its neighbourhood (itself included, when its own entry is stored, as for any
 * precomputed matrix with a zero diagonal) has at least min_samples points; clusters grow from
 * the core points in index order, a border point joins the first cluster that reaches it, and
 * every other point is noise (−1). Labels are 0..K−1 in order of each cluster's first core point.
 *
 * Input  SparseRows (sparse.ts) of distances; missing entries count as "farther than eps".
 * Output Int32Array [N] of labels.
 */
import { type SparseRows, sparsify } from './sparse.ts';

export interface DbscanResult {
  labels: Int32Array;
  /** 1 where the point is a core point. */
  core: Uint8Array;
}

function checkParams(eps: number, minSamples: number): void {
  if (!(eps > 0) || !Number.isFinite(eps)) throw new Error(`dbscan: eps = ${eps} must be a finite number > 0`);
  if (!Number.isInteger(minSamples) || minSamples < 1) throw new Error(`dbscan: min_samples = ${minSamples} must be an integer ≥ 1`);
}

/** DBSCAN on sparse distance rows. */
export function dbscanWithCore(rows: SparseRows, eps: number, minSamples: number): DbscanResult {
  checkParams(eps, minSamples);
  const N = rows.N;
  const { indptr, indices, values } = rows;
  // A point is core when |{j : d(i, j) ≤ eps}| ≥ min_samples (the point itself counts).
  const core = new Uint8Array(N);
  for (let i = 0; i < N; i++) {
    let n = 0;
    for (let p = indptr[i]; p < indptr[i + 1]; p++) if (values[p] <= eps) n++;
    if (n >= minSamples) core[i] = 1;
  }
  // sklearn's dbscan_inner: depth-first expansion from each unlabelled core point in index order.
  const labels = new Int32Array(N).fill(-1);
  const stack: number[] = [];
  let label = 0;
  for (let start = 0; start < N; start++) {
    if (labels[start] !== -1 || !core[start]) continue;
    let i = start;
    for (;;) {
      if (labels[i] === -1) {
        labels[i] = label;
        if (core[i]) {
          for (let p = indptr[i]; p < indptr[i + 1]; p++) {
            const j = indices[p];
            if (values[p] <= eps && labels[j] === -1) stack.push(j);
          }
        }
      }
      if (stack.length === 0) break;
      i = stack.pop()!;
    }
    label++;
  }
  return { labels, core };
}

export function dbscan(rows: SparseRows, eps: number, minSamples: number): Int32Array {
  return dbscanWithCore(rows, eps, minSamples).labels;
}

/** DBSCAN on a dense [N, N] distance matrix (conformance op, tests). */
export function dbscanDense(dist: ArrayLike<number>, N: number, eps: number, minSamples: number): Int32Array {
  checkParams(eps, minSamples);
  return dbscan(sparsify(dist, N, (v) => v <= eps), eps, minSamples);
}
