/**
 * Elementwise kernels that keep activations on the device between the big products.
 *
 *   copy(a)                = a                    (host -> device upload)
 *   add(a, b)              = a + b                backward: da = dy, db = dy
 *   mul(a, b)              = a * b                backward: da = dy * b, db = dy * a (= mul)
 *   relu(a)                = max(a, 0)            reluBackward(a, dy) = a > 0 ? dy : 0
 *   sigmoid(a)             = 1 / (1 + exp(-a))    sigmoidBackward(y, dy) = dy * y * (1 - y), y = sigmoid(a)
 */
import type { Flat, KernelSource, KernelThis } from './kernel-types.ts';

function copy(this: KernelThis, a: Flat): number {
  return a[this.thread.x];
}
function add(this: KernelThis, a: Flat, b: Flat): number {
  return a[this.thread.x] + b[this.thread.x];
}
function mul(this: KernelThis, a: Flat, b: Flat): number {
  return a[this.thread.x] * b[this.thread.x];
}
function relu(this: KernelThis, a: Flat): number {
  return Math.max(a[this.thread.x], 0);
}
function reluBackward(this: KernelThis, a: Flat, dy: Flat): number {
  let g = 0;
  if (a[this.thread.x] > 0) {
    g = dy[this.thread.x];
  }
  return g;
}
function sigmoid(this: KernelThis, a: Flat): number {
  return 1 / (1 + Math.exp(-a[this.thread.x]));
}
function sigmoidBackward(this: KernelThis, y: Flat, dy: Flat): number {
  const v = y[this.thread.x];
  return dy[this.thread.x] * v * (1 - v);
}

export const copyKernel: KernelSource = { name: 'copy', fn: copy, argumentTypes: { a: 'Array' } };
export const addKernel: KernelSource = { name: 'add', fn: add, argumentTypes: { a: 'Array', b: 'Array' } };
export const mulKernel: KernelSource = { name: 'mul', fn: mul, argumentTypes: { a: 'Array', b: 'Array' } };
export const reluKernel: KernelSource = { name: 'relu', fn: relu, argumentTypes: { a: 'Array' } };
export const reluBackwardKernel: KernelSource = { name: 'reluBackward', fn: reluBackward, argumentTypes: { a: 'Array', dy: 'Array' } };
export const sigmoidKernel: KernelSource = { name: 'sigmoid', fn: sigmoid, argumentTypes: { a: 'Array' } };
export const sigmoidBackwardKernel: KernelSource = { name: 'sigmoidBackward', fn: sigmoidBackward, argumentTypes: { y: 'Array', dy: 'Array' } };
