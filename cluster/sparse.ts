/**
 * Sparse rows (CSR) of an N × N distance matrix whose missing entries mean "far" (for the Jaccard
 * distance: exactly 1). Row i's stored entries are indices[indptr[i] .. indptr[i+1]) with the
 * matching values, columns ascending.
 */
export interface SparseRows {
  N: number;
  /** [N + 1] row starts. */
  indptr: Int32Array;
  /** [nnz] column indices, ascending within a row. */
  indices: Int32Array;
  /** [nnz] values. */
  values: Float64Array;
}

/** Dense [N, N] copy with `fill` where no entry is stored (for the conformance op and tests only). */
export function densify(s: SparseRows, fill: number): Float64Array {
  const out = new Float64Array(s.N * s.N).fill(fill);
  for (let i = 0; i < s.N; i++) {
    for (let p = s.indptr[i]; p < s.indptr[i + 1]; p++) out[i * s.N + s.indices[p]] = s.values[p];
  }
  return out;
}

/** Sparse rows of a dense [N, N] matrix keeping the entries with keep(value) true. */
export function sparsify(dense: ArrayLike<number>, N: number, keep: (v: number) => boolean): SparseRows {
  if (dense.length !== N * N) throw new Error(`sparsify: matrix has ${dense.length} values, expected N·N = ${N * N}`);
  const indptr = new Int32Array(N + 1);
  const idx: number[] = [];
  const val: number[] = [];
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < N; j++) if (keep(dense[i * N + j])) { idx.push(j); val.push(dense[i * N + j]); }
    indptr[i + 1] = idx.length;
  }
  return { N, indptr, indices: Int32Array.from(idx), values: Float64Array.from(val) };
}

/** Growable CSR builder: append row after row. */
export class SparseRowsBuilder {
  private indices = new Int32Array(1024);
  private values = new Float64Array(1024);
  private nnz = 0;
  private readonly indptr: Int32Array;
  private row = 0;

  constructor(readonly N: number) {
    this.indptr = new Int32Array(N + 1);
  }

  /** Append the next row: `count` entries from cols/vals (cols ascending). */
  pushRow(cols: ArrayLike<number>, vals: ArrayLike<number>, count: number): void {
    if (this.row >= this.N) throw new Error(`SparseRowsBuilder: more than N = ${this.N} rows`);
    if (this.nnz + count > this.indices.length) {
      const cap = Math.max(this.nnz + count, this.indices.length * 2);
      const ni = new Int32Array(cap); ni.set(this.indices.subarray(0, this.nnz)); this.indices = ni;
      const nv = new Float64Array(cap); nv.set(this.values.subarray(0, this.nnz)); this.values = nv;
    }
    for (let t = 0; t < count; t++) {
      this.indices[this.nnz + t] = cols[t];
      this.values[this.nnz + t] = vals[t];
    }
    this.nnz += count;
    this.indptr[++this.row] = this.nnz;
  }

  finish(): SparseRows {
    if (this.row !== this.N) throw new Error(`SparseRowsBuilder: ${this.row} rows pushed, expected ${this.N}`);
    return { N: this.N, indptr: this.indptr, indices: this.indices.slice(0, this.nnz), values: this.values.slice(0, this.nnz) };
  }
}
