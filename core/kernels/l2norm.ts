/**
 * The cpu kernels of row-wise L2 normalisation of x [rows, D] (the definition other backends are
 * checked against; core/rows.ts holds the same formula for plain host arrays):
 *
 *   l2Normalize:          norm[r] = ‖x_r‖₂,   y_r = x_r / max(norm[r], eps)        (y, norm overwritten)
 *   l2NormalizeBackward:  dx_r += (dy_r − y_r (y_r · dy_r)) / norm[r],   or dy_r / eps where the norm was clamped
 *
 * The norms are state values (core/backend.ts stateDtype: float64 on the host backends).
 */
import type { Float } from '../gemm.ts';

export function l2Normalize(rows: number, D: number, eps: number, x: Float, y: Float, norms: Float): void {
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let j = 0; j < D; j++) s += x[r * D + j] ** 2;
    norms[r] = Math.sqrt(s);
    const d = Math.max(norms[r], eps);
    for (let j = 0; j < D; j++) y[r * D + j] = x[r * D + j] / d;
  }
}

export function l2NormalizeBackward(rows: number, D: number, eps: number, y: Float, norms: Float, dy: Float, dx: Float): void {
  for (let r = 0; r < rows; r++) {
    const o = r * D;
    if (norms[r] <= eps) {
      for (let j = 0; j < D; j++) dx[o + j] += dy[o + j] / eps;
      continue;
    }
    let dot = 0;
    for (let j = 0; j < D; j++) dot += y[o + j] * dy[o + j];
    for (let j = 0; j < D; j++) dx[o + j] += (dy[o + j] - y[o + j] * dot) / norms[r];
  }
}
