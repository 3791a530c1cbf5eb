/** softmax along the last axis: y_i = e^{x_i - max} / sum_j e^{x_j - max};  dx = y (g - sum(g y)). */
import { Tensor, allocUnzeroed, type Axes } from '../tensor.ts';
import { record } from '../autograd.ts';

export function softmax<A extends Axes>(x: Tensor<A>): Tensor<A> {
  const n = x.shape[x.rank - 1];
  const rows = x.size / n;
  const X = x.data;
  const y = allocUnzeroed(x.dtype, x.size);
  for (let r = 0; r < rows; r++) {
    const o = r * n;
    let max = -Infinity;
    for (let j = 0; j < n; j++) if (X[o + j] > max) max = X[o + j];
    let s = 0;
    for (let j = 0; j < n; j++) s += y[o + j] = Math.exp(X[o + j] - max);
    for (let j = 0; j < n; j++) y[o + j] /= s;
  }
  return record(new Tensor<A>(y, x.shape), [x], (g) => {
    const gx = x.gradBuffer();
    for (let r = 0; r < rows; r++) {
      const o = r * n;
      let dot = 0;
      for (let j = 0; j < n; j++) dot += g[o + j] * y[o + j];
      for (let j = 0; j < n; j++) gx[o + j] += y[o + j] * (g[o + j] - dot);
    }
  });
}
