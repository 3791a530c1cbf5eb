/**
 * The cpu kernels of the elementwise ops that follow every conv (the definition the other backends
 * are checked against); all operands have the same length:
 *
 *   relu:          y = x > 0 ? x : 0            (max(x, 0); NaN and −0 give 0)
 *   reluBackward:  dx += x > 0 ? dy : 0         (d relu / dx = [x > 0])
 *   add:           y = a + b                    (same shape; every residual connection)
 *   addInto:       y += x                       (gradient accumulation, add's backward)
 *   biasGradient:  db[o] += Σ_n Σ_p dy[n, o, p]  (conv2d and linear)
 */
import type { Float } from '../gemm.ts';

export function relu(x: Float, y: Float): void {
  for (let i = 0; i < y.length; i++) y[i] = x[i] > 0 ? x[i] : 0;
}

export function reluBackward(x: Float, dy: Float, dx: Float): void {
  for (let i = 0; i < dx.length; i++) if (x[i] > 0) dx[i] += dy[i];
}

export function add(a: Float, b: Float, y: Float): void {
  for (let i = 0; i < y.length; i++) y[i] = a[i] + b[i];
}

export function addInto(y: Float, x: Float): void {
  for (let i = 0; i < y.length; i++) y[i] += x[i];
}

/** db[o] += Σ_n Σ_p dy[n, o, p] for dy [N, O, P]: the bias gradient of conv2d (P = Ho·Wo) and linear (P = 1). */
export function biasGradient(N: number, O: number, P: number, dy: Float, db: Float): void {
  for (let n = 0; n < N; n++)
    for (let o = 0; o < O; o++) {
      let s = 0;
      const go = (n * O + o) * P;
      for (let p = 0; p < P; p++) s += dy[go + p];
      db[o] += s;
    }
}
