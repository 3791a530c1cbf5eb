/**
 * The wasm max-pooling forward (core/wasm/assembly/pool.ts) with the cpu kernel's signature:
 * x copied into the wasm memory unless it lives there, y copied back out unless it lives there,
 * argmax copied back; float64 operands, or fewer than MIN_LENGTH values, run the cpu kernel
 * (core/kernels/pool.ts), as does the backward.
 */
import type { HostKernels } from '../backend.ts';
import * as cpu from '../kernels/pool.ts';
import { allF32, wasmCall } from './kernels.ts';

const MIN_LENGTH = 4096;

export const maxPool2d: HostKernels['maxPool2d'] = (g, x, y, argmax) => {
  const c = allF32(x, y) && x.length >= MIN_LENGTH ? wasmCall('maxPool2d') : null;
  if (!c) return cpu.maxPool2d(g, x, y, argmax);
  const xp = c.arena.put(x as Float32Array, 0, x.length);
  const yp = c.arena.out(y as Float32Array, 0, y.length), ap = c.arena.take(y.length);
  c.w.maxPool2d(xp, 0, g.planes, g.H, g.W, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, g.Ho, g.Wo, yp, ap);
  c.arena.get(yp, 1, y.length, 0, y as Float32Array, 0);
  argmax.set(new Int32Array(c.w.memory.buffer as ArrayBuffer, ap, argmax.length));
};
