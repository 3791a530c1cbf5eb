/**
 * Query-gallery distances for re-ID evaluation.
 *
 * Symbols: Q queries, G gallery items, D feature dimension.
 *   qf[Q, D], gf[G, D]: row-major Float32Array features (any scale; they are L2-normalised here).
 *   dist[q, g] = ||qf_q/|qf_q| - gf_g/|gf_g| ||^2 = 2 - 2 cos(qf_q, gf_g)   (unit rows)
 *
 * The distance matrix is produced in blocks of queries by one GEMM each (the active backend's: core/backend.ts), so a
 * caller can evaluate Market-1501 (3,368 x 15,913) holding only `blockRows x G` floats at a time.
 */
import { kernels, type Buf } from '../../core/backend.ts';
import { l2NormalizeRows } from '../../core/rows.ts';

export { l2NormalizeRows };

/**
 * dist[r, g] for queries q0..q0+rows-1 against all G gallery rows, written into `out[rows, G]`.
 * `qn` and `gn` must already be L2-normalised; then ||a - b||^2 = 2 - 2 a.b exactly up to rounding.
 * A caller computing many blocks passes them as TensorStorages, which a device backend keeps there.
 */
export function squaredDistanceBlock(
  qn: Buf, q0: number, rows: number, gn: Buf, g: number, d: number, out: Float32Array,
): void {
  // out = qn[q0:q0+rows] . gn^T  (one GEMM, beta = 0 over exactly its C: a device backend takes nothing up for it),
  // then 2 - 2 out, clamped at 0 against rounding.
  kernels.gemm(false, true, rows, g, d, 1, qn, q0 * d, d, gn, 0, d, 0, out.subarray(0, rows * g), 0, g);
  const n = rows * g;
  for (let i = 0; i < n; i++) {
    const v = 2 - 2 * out[i];
    out[i] = v > 0 ? v : 0;
  }
}

/** The whole dist[Q, G] at once (only for modest sizes: Q*G floats). */
export function squaredDistanceMatrix(qf: Float32Array, nq: number, gf: Float32Array, ng: number, d: number): Float32Array {
  const qn = l2NormalizeRows(qf, nq, d);
  const gn = l2NormalizeRows(gf, ng, d);
  const out = new Float32Array(nq * ng);
  squaredDistanceBlock(qn, 0, nq, gn, ng, d, out);
  return out;
}
