/**
 * The wasm BatchNorm kernels (core/wasm/assembly/batchnorm.ts) with the cpu kernels' signatures,
 * over channels c0..c1 (any split of the channels gives the same numbers, bit for bit): operands
 * outside the wasm memory copied in, results copied back out. Float64 operands, or fewer than
 * MIN_LENGTH values, run the cpu kernels (core/kernels/batchnorm.ts).
 */
import type { HostKernels } from '../backend.ts';
import * as cpu from '../kernels/batchnorm.ts';
import type { Float } from '../gemm.ts';
import { allF32, wasmCall, type Arena, type WasmExports } from './kernels.ts';

const MIN_LENGTH = 4096;

function call(kernel: string, ...operands: (Float | null)[]) {
  return allF32(...operands) && operands[0]!.length >= MIN_LENGTH ? wasmCall(kernel) : null;
}

/** Address of a float64 copy of per-channel values. */
function putF64(w: WasmExports, arena: Arena, a: Float): number {
  const at = arena.take(2 * a.length);
  new Float64Array(w.memory.buffer as ArrayBuffer, at, a.length).set(a);
  return at;
}

function getF64(w: WasmExports, at: number, dst: Float): void {
  dst.set(new Float64Array(w.memory.buffer as ArrayBuffer, at, dst.length));
}

export const batchNormStatistics: HostKernels['batchNormStatistics'] = (l, x, mean, variance) => {
  const c = call('batchNormStatistics', x);
  if (!c) return cpu.batchNormStatistics(l, x, mean, variance);
  const xp = c.arena.put(x as Float32Array, 0, x.length);
  const mp = c.arena.take(2 * l.C), vp = c.arena.take(2 * l.C);
  c.w.batchNormStatistics(xp, l.N, l.C, l.S, 0, l.C, mp, vp);
  getF64(c.w, mp, mean);
  getF64(c.w, vp, variance);
};

export const batchNormNormalize: HostKernels['batchNormNormalize'] = (l, x, scale, shift, y) => {
  const c = call('batchNormNormalize', x, y);
  if (!c) return cpu.batchNormNormalize(l, x, scale, shift, y);
  const xp = c.arena.put(x as Float32Array, 0, x.length);
  const sp = putF64(c.w, c.arena, scale), hp = putF64(c.w, c.arena, shift);
  const yp = c.arena.out(y as Float32Array, 0, y.length);
  c.w.batchNormNormalize(xp, l.N, l.C, l.S, 0, l.C, sp, hp, yp);
  c.arena.get(yp, 1, y.length, 0, y as Float32Array, 0);
};

export const batchNormBackward: HostKernels['batchNormBackward'] = (l, x, dy, mean, invStd, scale, training, dx, dGamma, dBeta) => {
  const c = call('batchNormBackward', x, dy, dx);
  if (!c) return cpu.batchNormBackward(l, x, dy, mean, invStd, scale, training, dx, dGamma, dBeta);
  const n = x.length;
  const xp = c.arena.put(x as Float32Array, 0, n), gp = c.arena.put(dy as Float32Array, 0, n);
  const dp = dx ? c.arena.put(dx as Float32Array, 0, n) : 0;
  const mp = putF64(c.w, c.arena, mean), ip = putF64(c.w, c.arena, invStd), sp = putF64(c.w, c.arena, scale);
  const sums2 = c.arena.take(4 * l.C);
  c.w.batchNormBackward(xp, gp, l.N, l.C, l.S, 0, l.C, mp, ip, sp, +training, dp, sums2);
  const sums = new Float64Array(c.w.memory.buffer as ArrayBuffer, sums2, 2 * l.C);
  for (let k = 0; k < l.C; k++) {
    if (dBeta) dBeta[k] += sums[k];
    if (dGamma) dGamma[k] += sums[l.C + k];
  }
  if (dx) c.arena.get(dp, 1, n, 0, dx as Float32Array, 0);
};
