/**
 * The wasm unary kernels (core/wasm/assembly/unary.ts) with the cpu kernels' signatures: operands
 * outside the wasm memory copied in, results copied back out. Float64 operands, or fewer than
 * MIN_LENGTH values, run the cpu kernels (core/kernels/unary.ts); both give the same numbers.
 */
import type { HostKernels } from '../backend.ts';
import * as cpu from '../kernels/unary.ts';
import type { UnaryOp } from '../kernels/unary.ts';
import type { Float } from '../gemm.ts';
import { allF32, wasmCall } from './kernels.ts';

/** Below this many values the copies and the call cost more than the plain loop saves. */
const MIN_LENGTH = 4096;

const CODE: Record<UnaryOp, number> = { sigmoid: 0, addScalar: 1, mulScalar: 2 };

function call(kernel: string, ...operands: Float[]) {
  return allF32(...operands) && operands[0].length >= MIN_LENGTH ? wasmCall(kernel) : null;
}

export const unary: HostKernels['unary'] = (op, s, x, y) => {
  const c = call('unary', x, y);
  if (!c) return cpu.unary(op, s, x, y);
  const n = y.length;
  const xp = c.arena.put(x as Float32Array, 0, n);
  const yp = c.arena.out(y as Float32Array, 0, n);
  c.w.unary(CODE[op], s, xp, yp, n);
  c.arena.get(yp, 1, n, 0, y as Float32Array, 0);
};

export const unaryBackward: HostKernels['unaryBackward'] = (op, s, x, y, dy, dx) => {
  const c = call('unaryBackward', y, dy, dx);
  if (!c) return cpu.unaryBackward(op, s, x, y, dy, dx);
  const n = dx.length;
  const yp = c.arena.put(y as Float32Array, 0, n);
  const gp = c.arena.put(dy as Float32Array, 0, n);
  const dp = c.arena.put(dx as Float32Array, 0, n);
  c.w.unaryBackward(CODE[op], s, yp, gp, dp, n);
  c.arena.get(dp, 1, n, 0, dx as Float32Array, 0);
};
