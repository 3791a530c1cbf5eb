/**
 * The wasm elementwise kernels (core/wasm/assembly/elementwise.ts) with the cpu kernels'
 * signatures (operands outside the wasm memory copied in, the result copied back out). Below
 * MIN_LENGTH values, or for float64 operands, the cpu kernel runs (core/kernels/elementwise.ts).
 */
import type { HostKernels } from '../backend.ts';
import * as cpu from '../kernels/elementwise.ts';
import type { Float } from '../gemm.ts';
import { allF32, wasmCall } from './kernels.ts';

/** Below this many values the copies and the call cost more than the plain loop saves. */
const MIN_LENGTH = 4096;

function call(kernel: string, ...operands: Float[]) {
  return allF32(...operands) && operands[0].length >= MIN_LENGTH ? wasmCall(kernel) : null;
}

export const relu: HostKernels['relu'] = (x, y) => {
  const c = call('relu', x, y);
  if (!c) return cpu.relu(x, y);
  const n = y.length;
  const xp = c.arena.put(x as Float32Array, 0, n);
  const yp = c.arena.out(y as Float32Array, 0, n);
  c.w.relu(xp, yp, n);
  c.arena.get(yp, 1, n, 0, y as Float32Array, 0);
};

export const reluBackward: HostKernels['reluBackward'] = (x, dy, dx) => {
  const c = call('reluBackward', x, dy, dx);
  if (!c) return cpu.reluBackward(x, dy, dx);
  const n = dx.length;
  const xp = c.arena.put(x as Float32Array, 0, n);
  const gp = c.arena.put(dy as Float32Array, 0, n);
  const dp = c.arena.put(dx as Float32Array, 0, n);
  c.w.reluBackward(xp, gp, dp, n);
  c.arena.get(dp, 1, n, 0, dx as Float32Array, 0);
};

export const add: HostKernels['add'] = (a, b, y) => {
  const c = call('add', a, b, y);
  if (!c) return cpu.add(a, b, y);
  const n = y.length;
  const ap = c.arena.put(a as Float32Array, 0, n);
  const bp = c.arena.put(b as Float32Array, 0, n);
  const yp = c.arena.out(y as Float32Array, 0, n);
  c.w.add(ap, bp, yp, n);
  c.arena.get(yp, 1, n, 0, y as Float32Array, 0);
};

export const addInto: HostKernels['addInto'] = (y, x) => {
  const c = call('addInto', y, x);
  if (!c) return cpu.addInto(y, x);
  const n = y.length;
  const yp = c.arena.put(y as Float32Array, 0, n);
  const xp = c.arena.put(x as Float32Array, 0, n);
  c.w.addInto(yp, xp, n);
  c.arena.get(yp, 1, n, 0, y as Float32Array, 0);
};
