/**
 * The wasm broadcasting binary kernels (core/wasm/assembly/broadcast.ts) with the cpu kernels'
 * signatures: the loop nest written into the wasm memory beside the operands (those outside it
 * copied in, the result copied back out). Float64 operands run the cpu kernels
 * (core/kernels/broadcast.ts); both give the same numbers.
 */
import type { HostKernels } from '../backend.ts';
import * as cpu from '../kernels/broadcast.ts';
import type { BinaryOp, LoopNest } from '../kernels/broadcast.ts';
import type { Float } from '../gemm.ts';
import { allF32, wasmCall, type Arena, type WasmExports } from './kernels.ts';

const CODE: Record<BinaryOp, number> = { add: 0, sub: 1, mul: 2, div: 3 };

/** Addresses of the nest's dims, a's and b's strides, and scratch for the outer counters (i32 each). */
function putNest(w: WasmExports, arena: Arena, nest: LoopNest): [number, number, number, number] {
  const rank = nest.dims.length;
  const at = arena.take(4 * rank);
  const view = new Int32Array(w.memory.buffer as ArrayBuffer, at, 4 * rank);
  view.set(nest.dims, 0);
  view.set(nest.sa, rank);
  view.set(nest.sb, 2 * rank);
  return [at, at + 4 * rank, at + 8 * rank, at + 12 * rank];
}

const size = (a: Float) => a.length;

export const broadcastBinary: HostKernels['broadcastBinary'] = (op, nest, a, b, y) => {
  const c = allF32(a, b, y) ? wasmCall('broadcastBinary') : null;
  if (!c) return cpu.broadcastBinary(op, nest, a, b, y);
  const [dims, sa, sb, idx] = putNest(c.w, c.arena, nest);
  const ap = c.arena.put(a as Float32Array, 0, size(a));
  const bp = c.arena.put(b as Float32Array, 0, size(b));
  const yp = c.arena.out(y as Float32Array, 0, size(y));
  c.w.broadcastBinary(CODE[op], nest.dims.length, dims, sa, sb, idx, ap, bp, yp);
  c.arena.get(yp, 1, size(y), 0, y as Float32Array, 0);
};

export const broadcastBinaryBackward: HostKernels['broadcastBinaryBackward'] = (op, side, nest, dy, a, b, dx) => {
  const c = allF32(dy, a, b, dx) ? wasmCall('broadcastBinaryBackward') : null;
  if (!c) return cpu.broadcastBinaryBackward(op, side, nest, dy, a, b, dx);
  const [dims, sa, sb, idx] = putNest(c.w, c.arena, nest);
  const gp = c.arena.put(dy as Float32Array, 0, size(dy));
  const ap = c.arena.put(a as Float32Array, 0, size(a));
  const bp = c.arena.put(b as Float32Array, 0, size(b));
  const dp = c.arena.put(dx as Float32Array, 0, size(dx));
  c.w.broadcastBinaryBackward(CODE[op], side === 'a' ? 0 : 1, nest.dims.length, dims, sa, sb, idx, gp, ap, bp, dp);
  c.arena.get(dp, 1, size(dx), 0, dx as Float32Array, 0);
};
