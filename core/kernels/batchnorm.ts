/**
 * The cpu BatchNorm kernels (the definition the other backends are checked against), on x viewed
 * as [N, C, S] (S = the product of the spatial sizes, 1 for BatchNorm1d); per channel c, over its
 * n = N·S values x[i, c, p]:
 *
 *   batchNormStatistics:  mean[c] = Σ x / n,   variance[c] = Σ (x − mean[c])² / n   (biased)
 *   batchNormNormalize:   y = x · scale[c] + shift[c]
 *                         (the op passes scale = γ/√(σ² + eps), shift = β − μ · scale)
 *   batchNormBackward:    x̂ = (x − mean[c]) · invStd[c],   sums[c] = Σ dy,   sums[C + c] = Σ dy x̂,
 *                         training (batch statistics):  dx += scale[c] (dy − Σ dy / n − x̂ Σ dy x̂ / n)
 *                         eval (fixed statistics):      dx += scale[c] dy
 *                         (dx null: only the sums, which give dβ and dγ)
 *
 * Per-channel values are float64 whatever x's type. Channels are independent: a backend may split
 * them across threads.
 */
import type { Float } from '../gemm.ts';

/** The layout x [N, C, S] of a BatchNorm input. */
export interface BatchNormLayout { N: number; C: number; S: number }

export function batchNormStatistics({ N, C, S }: BatchNormLayout, x: Float, mean: Float64Array, variance: Float64Array): void {
  const n = N * S;
  for (let c = 0; c < C; c++) {
    let sum = 0;
    for (let i = 0; i < N; i++) for (let p = 0, o = (i * C + c) * S; p < S; p++) sum += x[o + p];
    const mu = sum / n;
    let squares = 0;
    for (let i = 0; i < N; i++) for (let p = 0, o = (i * C + c) * S; p < S; p++) squares += (x[o + p] - mu) ** 2;
    mean[c] = mu;
    variance[c] = squares / n;
  }
}

export function batchNormNormalize({ N, C, S }: BatchNormLayout, x: Float, scale: Float64Array, shift: Float64Array, y: Float): void {
  for (let i = 0; i < N; i++)
    for (let c = 0; c < C; c++)
      for (let p = 0, o = (i * C + c) * S; p < S; p++) y[o + p] = x[o + p] * scale[c] + shift[c];
}

export function batchNormBackward({ N, C, S }: BatchNormLayout, x: Float, dy: Float, mean: Float64Array, invStd: Float64Array,
  scale: Float64Array, training: boolean, dx: Float | null, sums: Float64Array): void {
  const n = N * S;
  for (let c = 0; c < C; c++) {
    let sumDy = 0;
    let sumDyXhat = 0;
    for (let i = 0; i < N; i++)
      for (let p = 0, o = (i * C + c) * S; p < S; p++) {
        sumDy += dy[o + p];
        sumDyXhat += dy[o + p] * (x[o + p] - mean[c]) * invStd[c];
      }
    sums[c] = sumDy;
    sums[C + c] = sumDyXhat;
    if (!dx) continue;
    const meanDy = training ? sumDy / n : 0;
    const meanDyXhat = training ? sumDyXhat / n : 0;
    for (let i = 0; i < N; i++)
      for (let p = 0, o = (i * C + c) * S; p < S; p++) {
        const xhat = (x[o + p] - mean[c]) * invStd[c];
        dx[o + p] += scale[c] * (dy[o + p] - meanDy - xhat * meanDyXhat);
      }
  }
}
