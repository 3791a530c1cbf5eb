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
 *
 * l2Normalize: y = x / max(‖x‖₂, eps) row-wise; dx = (g − y (y·g)) / ‖x‖ (or g/eps when clamped).
 */
import { Tensor, alloc, ShapeError, type Axes } from '../tensor.ts';
import { record } from '../autograd.ts';

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
  const S = x.size / (N * C);
  const n = N * S;
  const X = x.data;
  const mean = new Float64Array(C);
  const invStd = new Float64Array(C);
  if (attrs.training) {
    if (n < 2) throw new ShapeError(`${where}: training needs more than one value per channel, input is [${x.shape}]`);
    for (let c = 0; c < C; c++) {
      let s = 0;
      for (let i = 0; i < N; i++) for (let p = 0, o = (i * C + c) * S; p < S; p++) s += X[o + p];
      const mu = s / n;
      let v = 0;
      for (let i = 0; i < N; i++) for (let p = 0, o = (i * C + c) * S; p < S; p++) v += (X[o + p] - mu) ** 2;
      const varBiased = v / n;
      mean[c] = mu;
      invStd[c] = 1 / Math.sqrt(varBiased + attrs.eps);
      const m = attrs.momentum;
      runningMean.data[c] = (1 - m) * runningMean.data[c] + m * mu;
      runningVar.data[c] = (1 - m) * runningVar.data[c] + m * varBiased * n / (n - 1);
    }
  } else {
    for (let c = 0; c < C; c++) {
      mean[c] = runningMean.data[c];
      invStd[c] = 1 / Math.sqrt(runningVar.data[c] + attrs.eps);
    }
  }
  const y = alloc(x.dtype, x.size);
  for (let i = 0; i < N; i++)
    for (let c = 0; c < C; c++) {
      const scale = gamma.data[c] * invStd[c];
      const shift = beta.data[c] - mean[c] * scale;
      for (let p = 0, o = (i * C + c) * S; p < S; p++) y[o + p] = X[o + p] * scale + shift;
    }
  return record(new Tensor<A>(y, x.shape), [x, gamma, beta], (g) => {
    const gx = x.requiresGrad ? x.gradBuffer() : null;
    for (let c = 0; c < C; c++) {
      let sumG = 0;
      let sumGXhat = 0;
      for (let i = 0; i < N; i++)
        for (let p = 0, o = (i * C + c) * S; p < S; p++) {
          sumG += g[o + p];
          sumGXhat += g[o + p] * (X[o + p] - mean[c]) * invStd[c];
        }
      if (gamma.requiresGrad) gamma.gradBuffer()[c] += sumGXhat;
      if (beta.requiresGrad) beta.gradBuffer()[c] += sumG;
      if (!gx) continue;
      const k = gamma.data[c] * invStd[c];
      if (attrs.training) {
        const mg = sumG / n;
        const mgx = sumGXhat / n;
        for (let i = 0; i < N; i++)
          for (let p = 0, o = (i * C + c) * S; p < S; p++) {
            const xhat = (X[o + p] - mean[c]) * invStd[c];
            gx[o + p] += k * (g[o + p] - mg - xhat * mgx);
          }
      } else {
        for (let i = 0; i < N; i++) for (let p = 0, o = (i * C + c) * S; p < S; p++) gx[o + p] += k * g[o + p];
      }
    }
  });
}

export function l2Normalize<A extends Axes>(x: Tensor<A>, eps = 1e-12): Tensor<A> {
  const D = x.shape[x.rank - 1];
  const rows = x.size / D;
  const X = x.data;
  const y = alloc(x.dtype, x.size);
  const norms = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let j = 0; j < D; j++) s += X[r * D + j] ** 2;
    norms[r] = Math.sqrt(s);
    const d = Math.max(norms[r], eps);
    for (let j = 0; j < D; j++) y[r * D + j] = X[r * D + j] / d;
  }
  return record(new Tensor<A>(y, x.shape), [x], (g) => {
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
