/**
 * Row-wise L2 normalisation, y = x / max(‖x‖₂, eps) (the conformance contract's l2_normalize):
 * the one home of the formula for plain arrays (the cluster memory, evaluation features,
 * camera-centred features). The differentiable op on tensors is core/ops/norm.ts's l2Normalize.
 */
import type { Float } from './gemm.ts';

export const L2_EPS = 1e-12;

/** x[off, off + D) /= max(‖x[off, off + D)‖₂, eps), in place; returns the norm. */
export function normalizeRowInPlace(x: Float, off: number, D: number, eps = L2_EPS): number {
  let s = 0;
  for (let d = 0; d < D; d++) s += x[off + d] * x[off + d];
  const norm = Math.sqrt(s);
  const inv = 1 / Math.max(norm, eps);
  for (let d = 0; d < D; d++) x[off + d] *= inv;
  return norm;
}

/** A copy of x [n, d] with every row normalised. */
export function l2NormalizeRows(x: Float32Array, n: number, d: number, eps = L2_EPS): Float32Array {
  if (x.length !== n * d) throw new Error(`l2NormalizeRows: features have ${x.length} values, expected N*D = ${n}*${d}`);
  const out = Float32Array.from(x);
  for (let i = 0; i < n; i++) normalizeRowInPlace(out, i * d, d, eps);
  return out;
}
