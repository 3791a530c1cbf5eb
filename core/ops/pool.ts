/**
 * Pooling primitives on x [N, C, H, W]:
 * - maxPool2d: max over each kernel window (padding counts as −∞); the gradient goes to the argmax
 *   (the active backend's kernels, core/kernels/pool.ts).
 * - globalAvgPool: y[n,c] = mean_p x[n,c,p];  dx = dy / (H·W).
 * - gem (generalised mean): y = (mean_p clamp(x, eps)^p)^(1/p) with a trainable scalar p.
 */
import { Tensor, allocUnzeroed, ShapeError } from '../tensor.ts';
import { TensorStorage } from '../tensor-storage.ts';
import { record } from '../autograd.ts';
import { kernels } from '../backend.ts';
import { convOutputSize } from './conv.ts';

export interface MaxPoolAttrs {
  kernel: [number, number];
  stride: [number, number];
  padding: [number, number];
}

export function maxPool2d(x: Tensor<any>, attrs: MaxPoolAttrs): Tensor<['N', 'C', 'H', 'W']> {
  if (x.rank !== 4) throw new ShapeError(`maxpool2d: input [${x.shape}] is not [N,C,H,W]`);
  const [N, C, H, W] = x.shape;
  const [kh, kw] = attrs.kernel;
  const [sh, sw] = attrs.stride;
  const [ph, pw] = attrs.padding;
  const Ho = convOutputSize(H, kh, sh, ph);
  const Wo = convOutputSize(W, kw, sw, pw);
  const g = { planes: N * C, H, W, kh, kw, sh, sw, ph, pw, Ho, Wo };
  const y = new TensorStorage(x.dtype, N * C * Ho * Wo);
  const argmax = new TensorStorage(x.dtype, y.length);
  kernels.maxPool2d(g, x.storage, y, argmax);
  return record(new Tensor<['N', 'C', 'H', 'W']>(y, [N, C, Ho, Wo]), [x], (dy) => kernels.maxPool2dBackward(g, dy, argmax, x.gradOf()));
}

export function globalAvgPool(x: Tensor<any>): Tensor<['N', 'C']> {
  if (x.rank !== 4) throw new ShapeError(`global_avgpool: input [${x.shape}] is not [N,C,H,W]`);
  const [N, C, H, W] = x.shape;
  const P = H * W;
  const y = new TensorStorage(x.dtype, N * C);
  kernels.meanPool(N * C, P, x.storage, y);
  return record(new Tensor<['N', 'C']>(y, [N, C]), [x], (dy) => kernels.meanPoolBackward(N * C, P, dy, x.gradOf()));
}

/**
 * GeM: m = mean_p c_p^p with c = clamp(x, eps);  y = m^(1/p)
 *   dy/dx_p = m^(1/p − 1) c_p^(p−1) / P   (0 where x was clamped)
 *   dy/dp   = y (−ln m / p² + mean_p(c_p^p ln c_p) / (p m))
 */
export function gem(x: Tensor<any>, p: Tensor, eps = 1e-6): Tensor<['N', 'C']> {
  if (x.rank !== 4 || p.size !== 1) throw new ShapeError(`gem_pool: input [${x.shape}] or p [${p.shape}] has the wrong shape`);
  const [N, C, H, W] = x.shape;
  const P = H * W;
  const X = x.data;
  const pw = p.data[0];
  const y = allocUnzeroed(x.dtype, N * C);
  const means = new Float64Array(N * C);
  for (let r = 0; r < N * C; r++) {
    let s = 0;
    for (let q = 0; q < P; q++) s += Math.max(X[r * P + q], eps) ** pw;
    means[r] = s / P;
    y[r] = means[r] ** (1 / pw);
  }
  return record(new Tensor<['N', 'C']>(y, [N, C]), [x, p], (dy) => {
    const g = dy.read();
    const gx = x.requiresGrad ? x.gradBuffer() : null;
    let gp = 0;
    for (let r = 0; r < N * C; r++) {
      const m = means[r];
      if (gx) {
        const k = m ** (1 / pw - 1) / P;
        for (let q = 0; q < P; q++) {
          const v = X[r * P + q];
          if (v > eps) gx[r * P + q] += g[r] * k * v ** (pw - 1);
        }
      }
      if (p.requiresGrad) {
        let s = 0;
        for (let q = 0; q < P; q++) {
          const c = Math.max(X[r * P + q], eps);
          s += c ** pw * Math.log(c);
        }
        gp += g[r] * y[r] * (-Math.log(m) / (pw * pw) + s / P / (pw * m));
      }
    }
    if (p.requiresGrad) p.gradBuffer()[0] += gp;
  });
}
