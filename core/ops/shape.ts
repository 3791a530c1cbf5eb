/**
 * Shape primitives: reshape (a view of the same storage, wherever it lives) and permute (an ndarray view copied back
 * to contiguous storage). Their backward passes move the gradient back to the input's layout.
 */
import { Tensor, ShapeError, contiguous, numel } from '../tensor.ts';
import { record } from '../autograd.ts';
import { kernels } from '../backend.ts';
import type { Axes } from '../tensor.ts';

/** Same values, new shape (one axis may be -1). Shares storage with x. */
export function reshape<B extends Axes = Axes>(x: Tensor<any>, shape: readonly number[]): Tensor<B> {
  const known = shape.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  const resolved = shape.map((d) => (d === -1 ? x.size / known : d));
  if (numel(resolved) !== x.size || !resolved.every(Number.isInteger)) {
    throw new ShapeError(`reshape: cannot view [${x.shape}] (${x.size} values) as [${shape}]`);
  }
  const out = new Tensor<B>(x.storage, resolved);
  return record(out, [x], (dy) => kernels.addInto(x.gradOf(), dy)) as Tensor<B>;
}

/** out.shape[i] = x.shape[order[i]] (torch.permute), copied to contiguous storage. */
export function permute<B extends Axes = Axes>(x: Tensor<any>, order: readonly number[]): Tensor<B> {
  if (order.length !== x.rank || [...order].sort().some((v, i) => v !== i)) {
    throw new ShapeError(`permute: order [${order}] is not a permutation of the ${x.rank} axes of [${x.shape}]`);
  }
  const out = new Tensor<B>(contiguous(x.nd().transpose(...order), x.dtype), order.map((o) => x.shape[o]));
  return record(out, [x], (dy) => {
    const g = dy.read();
    const inverse = order.map((_, i) => order.indexOf(i));
    const back = contiguous(new Tensor(g, out.shape).nd().transpose(...inverse), x.dtype);
    const gx = x.gradBuffer();
    for (let i = 0; i < back.length; i++) gx[i] += back[i];
  }) as Tensor<B>;
}
