/**
 * The cpu BatchNorm kernels (the definition the other backends are checked against), on x viewed
 * as [N, C, S] (S = the product of the spatial sizes, 1 for BatchNorm1d); per channel c, over its
 * n = N·S values x[i, c, p]:
 *
 *   batchNormStatistics:  mean[c] = Σ x / n,   variance[c] = Σ (x − mean[c])² / n   (biased)
 *   batchNormScaleShift:  training: running_mean ← (1 − m) running_mean + m mean,
 *                                   running_var  ← (1 − m) running_var + m variance · n/(n − 1)
 *                         eval:     mean ← running_mean, variance ← running_var
 *                         then invStd = 1/√(variance + eps), scale = γ invStd, shift = β − mean · scale
 *   batchNormNormalize:   y = x · scale[c] + shift[c]
 *   batchNormBackward:    x̂ = (x − mean[c]) · invStd[c],   dβ[c] += Σ dy,   dγ[c] += Σ dy x̂,
 *                         training (batch statistics):  dx += scale[c] (dy − Σ dy / n − x̂ Σ dy x̂ / n)
 *                         eval (fixed statistics):      dx += scale[c] dy
 *                         (dx, dγ, dβ each null when not wanted)
 *
 * The per-channel values (mean … shift) are state arrays (core/backend.ts stateDtype: float64 on the
 * host backends, float32 on a device), whatever x's type. Channels are independent: a backend may
 * split them across threads.
 */
import type { Float } from '../gemm.ts';

/** The layout x [N, C, S] of a BatchNorm input. */
export interface BatchNormLayout { N: number; C: number; S: number }

/** What batchNormScaleShift needs besides its arrays: the mode, the momentum m, eps, and n = N·S. */
export interface BatchNormStep { training: boolean; momentum: number; eps: number; n: number }

export function batchNormScaleShift(C: number, { training, momentum: m, eps, n }: BatchNormStep, gamma: Float, beta: Float,
  runningMean: Float, runningVar: Float, mean: Float, variance: Float, invStd: Float, scale: Float, shift: Float): void {
  for (let c = 0; c < C; c++) {
    if (training) {
      runningMean[c] = (1 - m) * runningMean[c] + m * mean[c];
      runningVar[c] = (1 - m) * runningVar[c] + m * variance[c] * n / (n - 1);
    } else {
      mean[c] = runningMean[c];
      variance[c] = runningVar[c];
    }
    invStd[c] = 1 / Math.sqrt(variance[c] + eps);
    scale[c] = gamma[c] * invStd[c];
    shift[c] = beta[c] - mean[c] * scale[c];
  }
}

export function batchNormStatistics({ N, C, S }: BatchNormLayout, x: Float, mean: Float, variance: Float): void {
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

export function batchNormNormalize({ N, C, S }: BatchNormLayout, x: Float, scale: Float, shift: Float, y: Float): void {
  for (let i = 0; i < N; i++)
    for (let c = 0; c < C; c++)
      for (let p = 0, o = (i * C + c) * S; p < S; p++) y[o + p] = x[o + p] * scale[c] + shift[c];
}

export function batchNormBackward({ N, C, S }: BatchNormLayout, x: Float, dy: Float, mean: Float, invStd: Float,
  scale: Float, training: boolean, dx: Float | null, dGamma: Float | null, dBeta: Float | null): void {
  const n = N * S;
  for (let c = 0; c < C; c++) {
    let sumDy = 0;
    let sumDyXhat = 0;
    for (let i = 0; i < N; i++)
      for (let p = 0, o = (i * C + c) * S; p < S; p++) {
        sumDy += dy[o + p];
        sumDyXhat += dy[o + p] * (x[o + p] - mean[c]) * invStd[c];
      }
    if (dBeta) dBeta[c] += sumDy;
    if (dGamma) dGamma[c] += sumDyXhat;
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
