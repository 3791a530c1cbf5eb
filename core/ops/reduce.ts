/** Reductions along one axis: sum (keepdim; core/kernels/reduce.ts) and the whole-tensor mean. */
import { Tensor, alloc, ShapeError } from '../tensor.ts';
import { TensorStorage } from '../tensor-storage.ts';
import { record } from '../autograd.ts';
import { kernels } from '../backend.ts';

/** Split a shape around `axis` into (outer, size, inner) extents of the row-major layout. */
export function aroundAxis(shape: readonly number[], axis: number, op: string): [number, number, number] {
  if (axis < 0) axis += shape.length;
  if (axis < 0 || axis >= shape.length) throw new ShapeError(`${op}: axis ${axis} out of range for shape [${shape}]`);
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  return [outer, shape[axis], inner];
}

/** sum over `axis`, keeping it with size 1. */
export function sum(x: Tensor<any>, axis: number): Tensor {
  const [outer, n, inner] = aroundAxis(x.shape, axis, 'sum');
  const ax = axis < 0 ? axis + x.rank : axis;
  const shape = x.shape.map((d, i) => (i === ax ? 1 : d));
  const y = new TensorStorage(x.dtype, outer * inner);
  kernels.sumAxis(outer, n, inner, x.storage, y);
  return record(new Tensor(y, shape), [x], (dy) => kernels.sumAxisBackward(outer, n, inner, dy, x.gradOf()));
}

/** Mean of all values, as a tensor of shape []. */
export function mean(x: Tensor<any>): Tensor {
  let s = 0;
  for (let i = 0; i < x.size; i++) s += x.data[i];
  const y = alloc(x.dtype, 1);
  y[0] = s / x.size;
  return record(new Tensor(y, []), [x], (dy) => {
    const g = dy.read();
    const gx = x.gradBuffer();
    for (let i = 0; i < gx.length; i++) gx[i] += g[0] / x.size;
  });
}
