/**
 * Elementwise primitives with numpy-style broadcasting: add, sub, mul, div, and the unary
 * addScalar, mulScalar, relu, sigmoid. Forward and backward of each side by side.
 * A broadcast input's gradient is the output gradient summed over the axes it was stretched along.
 * Every loop is a kernel of the active backend: same-shape add, relu and addInto
 * (core/kernels/elementwise.ts), broadcasting binary ops (core/kernels/broadcast.ts: a broadcast is a
 * few nested loops with constant strides, its loop nest) and scalar unary ops (core/kernels/unary.ts).
 */
import { Tensor, ShapeError, sameShape, type Axes } from '../tensor.ts';
import { TensorStorage } from '../tensor-storage.ts';
import { record } from '../autograd.ts';
import { kernels } from '../backend.ts';
import { loopNest, type BinaryOp } from '../kernels/broadcast.ts';
import type { UnaryOp } from '../kernels/unary.ts';

/** The broadcast result shape of a and b (trailing axes aligned), or an error naming `op`. */
export function broadcastShape(a: readonly number[], b: readonly number[], op: string): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new ShapeError(`${op}: shapes [${a}] and [${b}] do not broadcast (axis ${i}: ${da} vs ${db})`);
    }
    // numpy's rule: a size-1 axis takes the other's size, 0 included
    out.push(da === 1 ? db : da);
  }
  return out;
}

/**
 * A broadcasting binary op (core/kernels/broadcast.ts). The backward accumulates into a's gradient
 * over the output in order, then into b's in a second pass: each gradient element receives its
 * terms in output order (also for x op x, whose two gradients are one storage: same shapes make a
 * single run, so each element still gets its a-term before its b-term).
 */
function binary(op: BinaryOp) {
  return <A extends Axes>(a: Tensor<A>, b: Tensor<any>): Tensor<A> => {
    const shape = sameShape(a.shape, b.shape) ? a.shape : broadcastShape(a.shape, b.shape, op);
    const y = new TensorStorage(a.dtype, shape.reduce((x, z) => x * z, 1));
    const nest = loopNest(shape, a.shape, b.shape);
    kernels.broadcastBinary(op, nest, a.storage, b.storage, y);
    return record(new Tensor<A>(y, shape), [a, b], (dy) => {
      if (a.requiresGrad) kernels.broadcastBinaryBackward(op, 'a', nest, dy, a.storage, b.storage, a.gradOf());
      if (b.requiresGrad) kernels.broadcastBinaryBackward(op, 'b', nest, dy, a.storage, b.storage, b.gradOf());
    });
  };
}

const addBroadcast = binary('add');

/** a + b; written out for equal shapes (every residual connection), broadcasting otherwise. */
export function add<A extends Axes>(a: Tensor<A>, b: Tensor<any>): Tensor<A> {
  if (!sameShape(a.shape, b.shape)) return addBroadcast(a, b);
  const y = new TensorStorage(a.dtype, a.size);
  kernels.add(a.storage, b.storage, y);
  return record(new Tensor<A>(y, a.shape), [a, b], (dy) => {
    if (a.requiresGrad) kernels.addInto(a.gradOf(), dy);
    if (b.requiresGrad) kernels.addInto(b.gradOf(), dy);
  });
}

/** a - b; d/da = 1, d/db = -1. */
export const sub = binary('sub');

/** a · b; d/da = b, d/db = a. */
export const mul = binary('mul');

/** a / b; d/da = 1 / b, d/db = -a / b². */
export const div = binary('div');

/** A scalar unary op (core/kernels/unary.ts), forward and backward. */
function unary<A extends Axes>(op: UnaryOp, x: Tensor<A>, s = 0): Tensor<A> {
  const y = new TensorStorage(x.dtype, x.size);
  kernels.unary(op, s, x.storage, y);
  const out = new Tensor<A>(y, x.shape);
  out.name = op;
  return record(out, [x], (dy) => kernels.unaryBackward(op, s, x.storage, y, dy, x.gradOf()));
}

/** relu(x) = max(x, 0); d/dx = [x > 0]. Written out: it follows every BatchNorm. */
export function relu<A extends Axes>(x: Tensor<A>): Tensor<A> {
  const y = new TensorStorage(x.dtype, x.size);
  kernels.relu(x.storage, y);
  return record(new Tensor<A>(y, x.shape), [x], (dy) => kernels.reluBackward(x.storage, dy, x.gradOf()));
}

/** sigmoid(x) = 1 / (1 + e^-x); d/dx = y (1 - y). */
export function sigmoid<A extends Axes>(x: Tensor<A>): Tensor<A> {
  return unary('sigmoid', x);
}

/** x + s; d/dx = 1. */
export function addScalar<A extends Axes>(x: Tensor<A>, s: number): Tensor<A> {
  return unary('addScalar', x, s);
}

/** x · s; d/dx = s. */
export function mulScalar<A extends Axes>(x: Tensor<A>, s: number): Tensor<A> {
  return unary('mulScalar', x, s);
}
