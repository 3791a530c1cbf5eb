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
 *   Every step is a kernel of the active backend (core/kernels/batchnorm.ts), the per-channel
 *   arithmetic (running statistics, scale and shift) too, so a device backend keeps it all on the device.
 *
 * l2Normalize: y = x / max(‖x‖₂, eps) row-wise; dx = (g − y (y·g)) / ‖x‖ (or g/eps when clamped).
 */
import { Tensor, ShapeError, type Axes } from '../tensor.ts';
import { TensorStorage } from '../tensor-storage.ts';
import { record } from '../autograd.ts';
import { kernels, stateDtype } from '../backend.ts';

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
  if (attrs.training && n < 2) throw new ShapeError(`${where}: training needs more than one value per channel, input is [${x.shape}]`);
  // per-channel values in the backend's state precision (float64 on the host, float32 on a device)
  const dtype = x.dtype === 'float64' ? 'float64' : stateDtype();
  const [mean, variance, invStd, scale, shift] = Array.from({ length: 5 }, () => new TensorStorage(dtype, C));
  if (attrs.training) kernels.batchNormStatistics(layout, x.storage, mean, variance);
  kernels.batchNormScaleShift(C, { ...attrs, n }, gamma.storage, beta.storage, runningMean.storage, runningVar.storage,
    mean, variance, invStd, scale, shift);
  const y = new TensorStorage(x.dtype, x.size);
  kernels.batchNormNormalize(layout, x.storage, scale, shift, y);
  return record(new Tensor<A>(y, x.shape), [x, gamma, beta], (dy) => {
    kernels.batchNormBackward(layout, x.storage, dy, mean, invStd, scale, attrs.training,
      x.requiresGrad ? x.gradOf() : null, gamma.requiresGrad ? gamma.gradOf() : null, beta.requiresGrad ? beta.gradOf() : null);
  });
}

export function l2Normalize<A extends Axes>(x: Tensor<A>, eps = 1e-12): Tensor<A> {
  const D = x.shape[x.rank - 1];
  const rows = x.size / D;
  const y = new TensorStorage(x.dtype, x.size);
  const norms = new TensorStorage(x.dtype === 'float64' ? 'float64' : stateDtype(), rows);
  kernels.l2Normalize(rows, D, eps, x.storage, y, norms);
  return record(new Tensor<A>(y, x.shape), [x], (dy) => kernels.l2NormalizeBackward(rows, D, eps, y, norms, dy, x.gradOf()));
}
