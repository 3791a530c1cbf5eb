/**
 * The cpu kernels of softmax over the last axis of x [rows, n] (the definition other backends are
 * checked against):
 *
 *   softmax:          y_j = e^{x_j − max_k x_k} / Σ_k e^{x_k − max}       (y overwritten)
 *   softmaxBackward:  dx_j += y_j (dy_j − Σ_k dy_k y_k)
 */
import type { Float } from '../gemm.ts';

export function softmax(rows: number, n: number, x: Float, y: Float): void {
  for (let r = 0; r < rows; r++) {
    const o = r * n;
    let max = -Infinity;
    for (let j = 0; j < n; j++) if (x[o + j] > max) max = x[o + j];
    let s = 0;
    for (let j = 0; j < n; j++) s += y[o + j] = Math.exp(x[o + j] - max);
    for (let j = 0; j < n; j++) y[o + j] /= s;
  }
}

export function softmaxBackward(rows: number, n: number, y: Float, dy: Float, dx: Float): void {
  for (let r = 0; r < rows; r++) {
    const o = r * n;
    let dot = 0;
    for (let j = 0; j < n; j++) dot += dy[o + j] * y[o + j];
    for (let j = 0; j < n; j++) dx[o + j] += y[o + j] * (dy[o + j] - dot);
  }
}
