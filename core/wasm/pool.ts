/**
 * The wasm max-pooling forward (core/wasm/assembly/pool.ts) with the cpu kernel's signature:
 * x copied into the wasm memory unless it lives there, y copied back out unless it lives there,
 * argmax turned from the module's flat indices into positions within a plane; float64 operands, or fewer than MIN_LENGTH values, run the cpu kernel
 * (core/kernels/pool.ts), as does the backward.
 */
import type { HostKernels } from '../backend.ts';
import * as cpu from '../kernels/pool.ts';
import { allF32, wasmCall } from './kernels.ts';

const MIN_LENGTH = 4096;

export const maxPool2d: HostKernels['maxPool2d'] = (g, x, y, argmax) => {
  const c = allF32(x, y, argmax) && x.length >= MIN_LENGTH ? wasmCall('maxPool2d') : null;
  if (!c) return cpu.maxPool2d(g, x, y, argmax);
  cpu.checkPlane(g);
  const xp = c.arena.put(x as Float32Array, 0, x.length);
  const yp = c.arena.out(y as Float32Array, 0, y.length), ap = c.arena.take(y.length);
  c.w.maxPool2d(xp, 0, g.planes, g.H, g.W, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, g.Ho, g.Wo, yp, ap);
  c.arena.get(yp, 1, y.length, 0, y as Float32Array, 0);
  // the module gives flat indices into x: positions within each plane, as the cpu kernel's
  const at = new Int32Array(c.w.memory.buffer as ArrayBuffer, ap, argmax.length);
  const outs = g.Ho * g.Wo, plane = g.H * g.W;
  for (let o = 0; o < at.length; o++) argmax[o] = at[o] < 0 ? -1 : at[o] - Math.floor(o / outs) * plane;
};
