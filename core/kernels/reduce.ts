/**
 * The cpu kernels of the reductions (the definition other backends are checked against):
 *
 *   sumAxis:              y[o, i] = Σ_k x[o, k, i]         x [outer, n, inner] (y overwritten)
 *   sumAxisBackward:      dx[o, k, i] += dy[o, i]
 *   meanPool:             y[r] = (Σ_p x[r, p]) / P         x [rows, P]: global average pooling
 *   meanPoolBackward:     dx[r, p] += dy[r] / P
 *   nonFinite:            flags[slot] = 1 if any x is NaN or ±∞, else left as it is (so one slot can flag many tensors)
 */
import type { Float } from '../gemm.ts';

export function sumAxis(outer: number, n: number, inner: number, x: Float, y: Float): void {
  y.fill(0, 0, outer * inner);
  for (let o = 0; o < outer; o++)
    for (let k = 0; k < n; k++)
      for (let i = 0; i < inner; i++) y[o * inner + i] += x[(o * n + k) * inner + i];
}

export function sumAxisBackward(outer: number, n: number, inner: number, dy: Float, dx: Float): void {
  for (let o = 0; o < outer; o++)
    for (let k = 0; k < n; k++)
      for (let i = 0; i < inner; i++) dx[(o * n + k) * inner + i] += dy[o * inner + i];
}

export function meanPool(rows: number, P: number, x: Float, y: Float): void {
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let p = 0; p < P; p++) s += x[r * P + p];
    y[r] = s / P;
  }
}

export function meanPoolBackward(rows: number, P: number, dy: Float, dx: Float): void {
  for (let r = 0; r < rows; r++) for (let p = 0; p < P; p++) dx[r * P + p] += dy[r] / P;
}

/**
 * flags[slot] = 1 if any of x's n values is NaN or ±∞, else left as it is: a finiteness check
 * without bringing x to the host, and with a slot shared by many tensors, one check of them all.
 */
export function nonFinite(n: number, x: Float, flags: Float, slot: number): void {
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(x[i])) {
      flags[slot] = 1;
      return;
    }
  }
}
