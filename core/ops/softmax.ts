/** softmax along the last axis: y_i = e^{x_i - max} / sum_j e^{x_j - max};  dx = y (g - sum(g y)) (core/kernels/softmax.ts). */
import { Tensor, type Axes } from '../tensor.ts';
import { TensorStorage } from '../tensor-storage.ts';
import { record } from '../autograd.ts';
import { kernels } from '../backend.ts';

export function softmax<A extends Axes>(x: Tensor<A>): Tensor<A> {
  const n = x.shape[x.rank - 1];
  const rows = x.size / n;
  const y = new TensorStorage(x.dtype, x.size);
  kernels.softmax(rows, n, x.storage, y);
  return record(new Tensor<A>(y, x.shape), [x], (dy) => kernels.softmaxBackward(rows, n, y, dy, x.gradOf()));
}
