/**
 * Normalisation primitives.
 *
 * batchNorm (torch.nn.BatchNorm1d/2d): x [N, C, *] normalised per channel c over the N·S values,
 *   training:  μ = mean, σ² = biased variance,  x̂ = (x − μ)/√(σ² + eps),  y = γ x̂ + β,
 *              running_mean ← (1 − m) running_mean + m μ,
 *              running_var  ← (1 − m) running_var  + m σ² n/(n − 1)   (unbiased, as PyTorch)
 *   eval:      μ, σ² are the running statistics.
 *   backward (training): dx = (γ/√(σ²+eps)) (dy − mean(dy) − x̂ mean(dy x̂)),
 *                        dγ = Σ dy x̂,  dβ = Σ dy.
 *   The loops over x are the active backend's kernels (core/kernels/batchnorm.ts); the per-channel
 *   arithmetic (running statistics, scale and shift) stays here, in float64.
 *
 * l2Normalize: y = x / max(‖x‖₂, eps) row-wise; dx = (g − y (y·g)) / ‖x‖ (or g/eps when clamped).
 */
import { Tensor, allocUnzeroed, ShapeError, type Axes } from '../tensor.ts';
import { TensorStorage } from '../tensor-storage.ts';
import { record } from '../autograd.ts';
import { kernels } from '../backend.ts';

export interface BatchNormAttrs {
  training: boolean;
  momentum: number;
  eps: number;
}

export function batchNorm<A extends Axes>(x: Tensor<A>, gamma: Tensor, beta: Tensor, runningMean: Tensor, runningVar: Tensor,
  attrs: BatchNormAttrs, where = 'batchnorm'): Tensor<A> {
  const N = x.shape[0];
  const C = x.shape[1];
  if (x.rank < 2 || [gamma, beta, runningMean, runningVar].some((t) => t.size !== C)) {
    throw new ShapeError(`${where}: input [${x.shape}] does not fit ${gamma.size} channels`);
  }
  const layout = { N, C, S: x.size / (N * C) };
  const n = N * layout.S;
  const mean = new Float64Array(C);
  const variance = new Float64Array(C);
  if (attrs.training) {
    if (n < 2) throw new ShapeError(`${where}: training needs more than one value per channel, input is [${x.shape}]`);
    kernels.batchNormStatistics(layout, x.storage, mean, variance);
    const m = attrs.momentum;
    for (let c = 0; c < C; c++) {
      runningMean.data[c] = (1 - m) * runningMean.data[c] + m * mean[c];
      runningVar.data[c] = (1 - m) * runningVar.data[c] + m * variance[c] * n / (n - 1);
    }
  } else {
    mean.set(runningMean.data);
    variance.set(runningVar.data);
  }
  const invStd = new Float64Array(C);
  const scale = new Float64Array(C);
  const shift = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    invStd[c] = 1 / Math.sqrt(variance[c] + attrs.eps);
    scale[c] = gamma.data[c] * invStd[c];
    shift[c] = beta.data[c] - mean[c] * scale[c];
  }
  const y = new TensorStorage(x.dtype, x.size);
  kernels.batchNormNormalize(layout, x.storage, scale, shift, y);
  return record(new Tensor<A>(y, x.shape), [x, gamma, beta], (dy) => {
    const sums = new Float64Array(2 * C);
    kernels.batchNormBackward(layout, x.storage, dy, mean, invStd, scale, attrs.training, x.requiresGrad ? x.gradOf() : null, sums);
    const gBeta = beta.requiresGrad ? beta.gradBuffer() : null;
    const gGamma = gamma.requiresGrad ? gamma.gradBuffer() : null;
    for (let c = 0; c < C; c++) {
      if (gBeta) gBeta[c] += sums[c];
      if (gGamma) gGamma[c] += sums[C + c];
    }
  });
}

export function l2Normalize<A extends Axes>(x: Tensor<A>, eps = 1e-12): Tensor<A> {
  const D = x.shape[x.rank - 1];
  const rows = x.size / D;
  const X = x.data;
  const y = allocUnzeroed(x.dtype, x.size);
  const norms = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let j = 0; j < D; j++) s += X[r * D + j] ** 2;
    norms[r] = Math.sqrt(s);
    const d = Math.max(norms[r], eps);
    for (let j = 0; j < D; j++) y[r * D + j] = X[r * D + j] / d;
  }
  return record(new Tensor<A>(y, x.shape), [x], (dy) => {
    const g = dy.read();
    const gx = x.gradBuffer();
    for (let r = 0; r < rows; r++) {
      const o = r * D;
      if (norms[r] <= eps) {
        for (let j = 0; j < D; j++) gx[o + j] += g[o + j] / eps;
        continue;
      }
      let dot = 0;
      for (let j = 0; j < D; j++) dot += y[o + j] * g[o + j];
      for (let j = 0; j < D; j++) gx[o + j] += (g[o + j] - y[o + j] * dot) / norms[r];
    }
  });
}
